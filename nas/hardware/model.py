"""LatencyModel: a latency table bound to a space, predicting whole batches of genomes with numpy.

Every variant of every slot of the space's structure (``search_spaces.structure``) gets its latency
once, from the table entries of the kernels it runs; prediction then gathers them with the space's
``variant_index``, exactly as the space counts MACs. Sums run in execution order, so a table imported
from once-for-all reproduces its own per-subnet sums bit for bit.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from search_spaces import SearchSpace
from search_spaces.errors import InvalidInput
from search_spaces.structure import Structure, Variant, covering_restriction

from ._target import CostModel
from .opspec import structured
from .table import LatencyTable

__all__ = ["LatencyModel", "latency_target", "table_covers"]


def table_covers(table: LatencyTable):
    """``covered(op, variant)`` for ``covering_restriction``: the table has the op, in that variant's network."""
    return lambda op, variant: table.has(op.key, variant.resolution)


def _variant_ms(table: LatencyTable, variant: Variant) -> float:
    total = 0.0
    for op in variant.ops:  # in execution order, as a per-layer sum adds them
        total += table.get(op.key, variant.resolution)
    return total


class LatencyModel:
    """Predict subnet latency (ms) from a table; raises naming the first op the table lacks."""

    def __init__(self, table: LatencyTable, space: SearchSpace):
        table.check_space(space)
        self.table, self.space = table, structured(space)
        self.structure: Structure = space.structure(table.fusion)
        self._check_coverage()
        self.costs = self.structure.variant_table(lambda v: _variant_ms(table, v))
        cal = table.metadata.get("calibration") or {}
        self.scale, self.offset = float(cal.get("scale", 1.0)), float(cal.get("offset_ms", 0.0))
        with np.errstate(over="ignore"):  # the slowest subnet: every slot at its slowest variant
            slowest = self.scale * float(self.costs.max(axis=1).sum()) + self.offset
        if not np.isfinite(slowest):  # entries near 1e308 "ms": sums would be inf in results, Infinity in JSON
            raise InvalidInput(f"{table.origin}: the latencies of {self.space.name}'s slowest subnets overflow "
                               f"(entries up to {table.rows['latency_ms'].max():.3g} ms); are they milliseconds?")

    def _check_coverage(self) -> None:
        covers = table_covers(self.table)
        missing = [op.key for slot in self.structure.slots for v in slot.variants for op in v.ops if not covers(op, v)]
        if not missing:
            return
        missing = list(dict.fromkeys(missing))
        what = f"{self.table.origin} has no entry for op {missing[0]} (and {len(missing) - 1} more ops that " \
               f"{self.space.name} needs)"
        keep = covering_restriction(self.space, _block_covers(self.table), self.table.origin)  # raises if none
        raise InvalidInput(f"{what}; it covers {self.space.restrict(**keep).name}: search that space "
                           f"(nas search restricts it for you)")

    @classmethod
    def covering(cls, table: LatencyTable, space: SearchSpace) -> "LatencyModel":
        """A model on the largest restriction of ``space`` that the table covers (an error if none)."""
        table.check_space(space)
        keep = covering_restriction(structured(space), _block_covers(table), table.origin)
        return cls(table, space.restrict(**keep) if keep else space)

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        index = self.space.variant_index(genomes)
        total = Structure.ordered_sum(self.structure.gather(self.costs, index))
        if self.scale != 1.0 or self.offset != 0.0:  # end-to-end calibration of a profiled table
            total = self.scale * total + self.offset
        return total

    def breakdown(self, arch: Mapping[str, Any]) -> list[tuple[str, float]]:
        """(op key, latency) of every kernel one subnet runs, in execution order."""
        index = self.space.variant_index(self.space.encode(arch)[None, :])[0]
        return [(op.key, self.table.latency(op.key, slot.variants[v].resolution))
                for slot, v in zip(self.structure.slots, index) if v >= 0 for op in slot.variants[v].ops]

    def cost_model(self, name: str, extra: Mapping[str, Any] | None = None) -> CostModel:
        meta = dict(self.table.metadata) | {"table": self.table.origin, "ops": len(self.table)} | dict(extra or {})
        return CostModel(name, "latency", "ms", self.space, self.predict, meta)


def _block_covers(table: LatencyTable):
    """Coverage of the block-level variants ``covering_restriction`` walks: a layer table covers a block
    op when it has all of the op's layers."""
    covers = table_covers(table)
    if table.fusion == "block":
        return covers
    return lambda op, variant: all(covers(layer, variant) for layer in op.layer_ops())


def latency_target(table: LatencyTable, space: SearchSpace, name: str | None = None) -> CostModel:
    """A table as a search target on ``space`` (restricted to what the table covers)."""
    if not np.isfinite(table.rows["latency_ms"]).all():
        raise InvalidInput(f"{table.origin} holds non-finite latencies")
    return LatencyModel.covering(table, space).cost_model(name or table.metadata.get("name") or table.origin)

