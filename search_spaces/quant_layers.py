"""Quantizable layer positions of a structured space: which primitives carry bits, named per slot, and
the kernels a layer's bits run on (``run_precision``)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Sequence

from .ops import Op
from .structure import Structured

__all__ = ["QuantLayer", "QUANT_KEYS", "run_precision", "map_quantizable", "quantizable_layers", "layer_positions",
           "with_fields"]

QUANT_KEYS = ("wbits", "abits", "wmode")  # the genes and arch keys +q adds per layer


def run_precision(wbits: int, abits: int, wmode: str) -> str:
    """The kernels a quantizable layer runs on: ``"int8"``, or ``""`` for fp32 (see ``INT8_KERNELS``)."""
    return "int8" if wbits == 8 and abits == 8 and wmode == "symmetric" else ""


@dataclass(frozen=True)
class QuantLayer:
    """One quantizable layer position: its name, the base slot it sits in, and its op kind."""

    name: str
    slot: int
    kind: str


def map_quantizable(slot: str, ops: Sequence[Op], fn: Callable[[str, Op], Op]) -> tuple[Op, ...]:
    """``ops`` with ``fn(layer name, primitive)`` applied to each quantizable primitive (composites rebuilt)."""
    seen: dict[str, int] = {}

    def visit(prim: Op, composite: bool) -> Op:
        if not prim.quantizable:
            return prim
        name = f"{slot}.{prim.name or prim.kind}" if composite else (
            slot if prim.name in ("", slot) else f"{slot}.{prim.name}")
        seen[name] = seen.get(name, 0) + 1
        return fn(name if seen[name] == 1 else f"{name}#{seen[name]}", prim)

    out = []
    for op in ops:
        if op.parts:
            shortcut = tuple(visit(p, True) for p in op.shortcut)
            parts = tuple(visit(p, True) for p in op.parts)
            prims = (*shortcut, *parts)  # a block's key tells apart which of its layers run int8
            precision = ",".join(p.precision or "fp32" for p in prims) if any(p.precision for p in prims) else ""
            out.append(with_fields(op, shortcut=shortcut, parts=parts, precision=precision))
        else:
            out.append(visit(op, False))
    return tuple(out)


def with_fields(op: Op, **changes) -> Op:
    """``dataclasses.replace`` without re-running ``__init__``: the bits structure of a large space builds
    ~10**5 ops, and replace's field walk was most of its time."""
    new = copy.copy(op)
    for name, value in changes.items():
        object.__setattr__(new, name, value)
    return new


def quantizable_layers(slot: str, ops: Sequence[Op]) -> list[tuple[str, Op]]:
    found: list[tuple[str, Op]] = []
    map_quantizable(slot, ops, lambda name, prim: found.append((name, prim)) or prim)
    return found


def layer_positions(base: Structured) -> tuple[QuantLayer, ...]:
    out: list[QuantLayer] = []
    for s, slot in enumerate(base.structure("block").slots):
        names: dict[str, str] = {}
        for variant in slot.variants:
            for name, prim in quantizable_layers(slot.name, variant.ops):
                names.setdefault(name, prim.kind)
        out += [QuantLayer(name, s, kind) for name, kind in names.items()]
    return tuple(out)
