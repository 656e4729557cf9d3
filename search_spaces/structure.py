"""The structure contract: which kernels every subnet of a space runs, for whole batches of genomes.

A structured space declares its network as *slots* in execution order (the stem, each block
position, the head). A slot depends on a few genes (say ``ks[3]``, ``e[3]`` and ``r``); each
combination of their options is one *variant*: the ops that slot runs. For a batch of genomes,
``variant_index`` says which variant every subnet runs in every slot (-1: the slot is skipped, e.g. a
block beyond its stage's depth). Every per-subnet quantity that is a sum over kernels is then a
gather: MACs and params here, latency from a table in ``nas.hardware``, with one number per variant.

Families implement ``slot_specs`` (and ``slot_active`` when slots can be skipped), ``input_shape``,
``extremes`` and ``n_classes``; ``Structured`` derives the rest. Capabilities are declared by
inheriting the mixin and checked with ``isinstance``.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np

from .errors import InvalidInput
from .names import format_value
from .ops import Op, check_fusion

__all__ = ["SlotSpec", "Variant", "Slot", "Structure", "Structured", "covering_restriction"]

Gene = tuple[str, int]  # (choice key, position within the choice)


@dataclass(frozen=True)
class SlotSpec:
    """A family's declaration of one slot: the genes it depends on and the ops each combination runs
    (``build(*values)`` in the order of ``deps``, returning block-level ops with their names)."""

    name: str
    deps: tuple[Gene, ...]
    build: Callable[..., Sequence[Op]]


@dataclass(frozen=True)
class Variant:
    ops: tuple[Op, ...]
    values: tuple[tuple[str, Any], ...]  # (choice key, option value) of each dependency: what selects it
    resolution: int | None = None  # the network input resolution it runs in (tables may key by it)


@dataclass(frozen=True)
class Slot:
    name: str
    deps: tuple[Gene, ...]
    variants: tuple[Variant, ...]


class Structure:
    """The slots of one space under one fusion mode, and batch gathers over their variants."""

    def __init__(self, fusion: str, slots: Sequence[Slot]):
        self.fusion, self.slots = fusion, tuple(slots)
        self.n_variants = max((len(s.variants) for s in self.slots), default=0)

    @property
    def n_slots(self) -> int:
        return len(self.slots)

    def unique_ops(self) -> dict[str, Op]:
        out: dict[str, Op] = {}
        for slot in self.slots:
            for variant in slot.variants:
                for op in variant.ops:
                    out.setdefault(op.key, op)
        return out

    def variant_table(self, value: Callable[[Variant], float], dtype=np.float64) -> np.ndarray:
        """``[n_slots, max variants + 1]``: ``value(variant)``; the last column (index -1, a skipped
        slot) and the padding are 0."""
        table = np.zeros((self.n_slots, self.n_variants + 1), dtype=dtype)
        for s, slot in enumerate(self.slots):
            for v, variant in enumerate(slot.variants):
                table[s, v] = value(variant)
        return table

    def gather(self, table: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Per-slot values ``[n, n_slots]`` of a ``variant_table`` for a ``variant_index`` batch."""
        return table[np.arange(self.n_slots)[None, :], index]

    @staticmethod
    def ordered_sum(per_slot: np.ndarray) -> np.ndarray:
        """Row sums in execution order (as a per-layer sum adds them: tables reproduce their own sums)."""
        total = np.zeros(len(per_slot), dtype=per_slot.dtype)
        for j in range(per_slot.shape[1]):
            total += per_slot[:, j]
        return total


class Structured(ABC):
    """Capability of a ``SearchSpace`` whose subnets are networks with a declared structure.

    Subclasses list ``SearchSpace`` after this mixin and set ``n_classes`` and, when the input size
    is searched, ``resolution_key`` (the choice naming the input resolution).
    """

    resolution_key: ClassVar[str | None] = None
    n_classes: int

    @abstractmethod
    def slot_specs(self) -> Sequence[SlotSpec]:
        """The network's slots in execution order."""

    def slot_active(self, genomes: np.ndarray) -> np.ndarray:
        """``[n, n_slots]``: whether each slot runs (default: every slot always runs)."""
        return np.ones((len(genomes), self.structure().n_slots), dtype=bool)

    @abstractmethod
    def input_shape(self, arch: Mapping[str, Any]) -> tuple[int, int, int]:
        """(channels, height, width) of the input the subnet ``arch`` takes."""

    # ------------------------------------------------------------------ derived
    def structure(self, fusion: str = "block") -> Structure:
        check_fusion(fusion)
        cache = self.__dict__.setdefault("_cached_structures", {})
        if fusion not in cache:
            if fusion == "block":
                cache[fusion] = Structure("block", [self._slot(spec) for spec in self.slot_specs()])
            else:
                block = self.structure("block")
                cache[fusion] = Structure(fusion, [
                    Slot(s.name, s.deps, tuple(Variant(tuple(p for op in v.ops for p in op.layer_ops()), v.values,
                                                       v.resolution) for v in s.variants))
                    for s in block.slots])
        return cache[fusion]

    def _slot(self, spec: SlotSpec) -> Slot:
        if len(set(spec.deps)) != len(spec.deps):
            raise ValueError(f"slot {spec.name} of {self.name} lists a gene twice: {spec.deps}")
        options = [self.choice(key).options for key, _ in spec.deps]
        variants = []
        for values in itertools.product(*options):
            ops = tuple(spec.build(*values))
            keyed = tuple((key, value) for (key, _), value in zip(spec.deps, values))
            resolution = next((int(v) for k, v in keyed if k == self.resolution_key), None)
            variants.append(Variant(ops, keyed, resolution))
        return Slot(spec.name, spec.deps, tuple(variants))

    def _index_plan(self) -> tuple[np.ndarray, np.ndarray]:
        """Per slot and dependency: the gene column and its mixed-radix stride (0 for fixed choices)."""
        cache = self.__dict__.setdefault("_cached_structures", {})
        if "plan" not in cache:
            slots = self.structure().slots
            depth = max((len(s.deps) for s in slots), default=0) or 1
            cols = np.zeros((len(slots), depth), dtype=np.int64)
            strides = np.zeros((len(slots), depth), dtype=np.int64)
            for s, slot in enumerate(slots):
                stride = 1
                for d in range(len(slot.deps) - 1, -1, -1):
                    key, pos = slot.deps[d]
                    n = len(self.choice(key).options)
                    if key in self.gene_slices:
                        cols[s, d], strides[s, d] = self.gene_slices[key].start + pos, stride
                    stride *= n
            cache["plan"] = (cols, strides)
        return cache["plan"]

    def variant_index(self, genomes: np.ndarray) -> np.ndarray:
        """``[n, n_slots]`` int64: the variant each subnet runs in each slot, -1 where it skips the slot."""
        genomes = self.check_genomes(genomes)
        cols, strides = self._index_plan()
        if genomes.shape[1] == 0:
            index = np.zeros((len(genomes), len(cols)), dtype=np.int64)
        else:
            index = (genomes[:, cols] * strides).sum(axis=2)
        return np.where(self.slot_active(genomes), index, -1)

    def layers(self, arch: Mapping[str, Any], fusion: str = "block") -> list[Op]:
        """The ops one subnet runs, in execution order (block ops carry the names static nets use)."""
        structure = self.structure(fusion)
        index = self.variant_index(self.encode(arch)[None, :])[0]
        return [op for slot, v in zip(structure.slots, index) if v >= 0 for op in slot.variants[v].ops]

    def count(self, genomes: np.ndarray) -> dict[str, np.ndarray]:
        """Exact MACs and params per genome (a gather over the variants' op counts)."""
        cache = self.__dict__.setdefault("_cached_structures", {})
        structure = self.structure("block")
        if "counts" not in cache:
            cache["counts"] = {name: structure.variant_table(lambda v, n=name: sum(getattr(op, n) for op in v.ops),
                                                             dtype=np.int64) for name in ("macs", "params")}
        index = self.variant_index(genomes)
        return {name: structure.gather(table, index).sum(axis=1) for name, table in cache["counts"].items()}


def covering_restriction(space, covered: Callable[[Op, Variant], bool], what: str = "the target") -> dict[str, tuple]:
    """The options to keep so that every op a subnet of ``space`` runs is ``covered`` (e.g. by a latency
    table): ``{}`` when everything is covered. Options whose variants are all uncovered go first (a
    resolution a table never measured); then, greedily, the option that removes the most uncovered
    variants per covered one it loses. Raises ``InvalidInput`` naming an op when no restriction helps."""
    structure: Structure = space.structure()
    uncovered, lost_if_removed = [], {}
    for slot in structure.slots:
        for variant in slot.variants:
            missing = next((op for op in variant.ops if not covered(op, variant)), None)
            if missing is not None:
                uncovered.append((variant, missing))
            else:
                for pair in variant.values:
                    lost_if_removed[pair] = lost_if_removed.get(pair, 0) + 1
    if not uncovered:
        return {}
    keep = {c.key: list(c.options) for c in space.choices}
    remaining = list(uncovered)
    while remaining:
        counts: dict[tuple, int] = {}
        for variant, _ in remaining:
            for pair in variant.values:
                if len(keep[pair[0]]) > 1:
                    counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            variant, op = remaining[0]
            raise InvalidInput(f"{what} has no entry for op {op.key}, which every subnet of {space.name}"
                               + (f" with {_describe(variant.values)}" if variant.values else "") + " runs")
        best = max(counts, key=lambda p: (counts[p] / (lost_if_removed.get(p, 0) + 1), counts[p]))
        keep[best[0]].remove(best[1])
        remaining = [(v, op) for v, op in remaining if best not in v.values]
    return {key: tuple(kept) for key, kept in keep.items() if len(kept) < len(space.choice(key).options)}


def _describe(values) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in values)

