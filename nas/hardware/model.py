"""LatencyModel: a latency table bound to a space, predicting whole batches of genomes with numpy.

Every (block position, kernel option, expand option, resolution option) gets its latency once, from
the table entries of the kernels that block runs; prediction then gathers them with
``space.option_indices`` exactly as the space counts MACs. Sums run in execution order (stem, blocks,
head), so a table imported from once-for-all reproduces its own per-subnet sums bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from search_spaces import SearchSpace
from search_spaces.errors import InvalidInput

from ._target import CostModel
from .opspec import OpSpec, block_ops, check_fusion, fixed_ops, macro_of
from .table import LatencyTable

__all__ = ["SpaceOps", "space_ops", "LatencyModel", "latency_target"]


@dataclass(frozen=True)
class SpaceOps:
    """The kernels every option of a space runs, under one fusion mode."""

    blocks: tuple  # [pos][ks][e][r] -> tuple[OpSpec, ...]
    pre: tuple  # [r] -> ops before the elastic blocks (stem, fixed first block)
    post: tuple  # [r] -> ops after them (final expand, pool, feature mix, classifier)
    resolutions: tuple[int, ...]

    def unique(self) -> dict[str, OpSpec]:
        out: dict[str, OpSpec] = {}
        for ops in self._all():
            for op in ops:
                out.setdefault(op.key, op)
        return out

    def _all(self):
        yield from self.pre
        for per_k in self.blocks:
            for per_e in per_k:
                for per_r in per_e:
                    yield from per_r
        yield from self.post


@lru_cache(maxsize=32)
def _space_ops(macro, ks: tuple, es: tuple, rs: tuple, fusion: str) -> SpaceOps:
    blocks = tuple(
        tuple(tuple(tuple(block_ops(macro.block_spec(pos, k, e, r), fusion) for r in rs) for e in es) for k in ks)
        for pos in range(macro.n_blocks)
    )
    fixed = [fixed_ops(macro, r, fusion) for r in rs]
    return SpaceOps(blocks, tuple(f[0] for f in fixed), tuple(f[1] for f in fixed), rs)


def space_ops(space: SearchSpace, fusion: str) -> SpaceOps:
    macro = macro_of(space)
    opts = tuple(space.choice(k).options for k in ("ks", "e", "r"))
    return _space_ops(macro, *opts, check_fusion(fusion))


class LatencyModel:
    """Predict subnet latency (ms) from a table; raises naming the first op spec the table lacks."""

    def __init__(self, table: LatencyTable, space: SearchSpace):
        table.check_space(space.name)
        self.table, self.space = table, space
        self.ops = space_ops(space, table.fusion)
        self._check_coverage()
        lat, rs = table.get, self.ops.resolutions
        self.block = np.array([[[[sum(lat(op.key, r) for op in ops) for ops, r in zip(per_e, rs)] for per_e in per_k]
                                for per_k in per_pos] for per_pos in self.ops.blocks], dtype=np.float64)
        self.pre = np.array([_ordered_sum([lat(op.key, r) for op in ops]) for ops, r in zip(self.ops.pre, rs)])
        n_post = max(len(p) for p in self.ops.post)
        self.post = np.array([[lat(op.key, r) for op in ops] + [0.0] * (n_post - len(ops))
                              for ops, r in zip(self.ops.post, rs)])
        cal = table.metadata.get("calibration") or {}
        self.scale, self.offset = float(cal.get("scale", 1.0)), float(cal.get("offset_ms", 0.0))

    def _check_coverage(self) -> None:
        missing = [op.key for r in self.ops.resolutions for op in _needed(self.ops, r)
                   if not self.table.has(op.key, r)]
        if not missing:
            return
        missing = list(dict.fromkeys(missing))
        covered = [r for r in self.ops.resolutions if _covers(self.table, self.ops, r)]
        hint = ""
        if covered:
            base = self.space.name.split("[", 1)[0]
            hint = (f"; it covers only r in {{{','.join(map(str, covered))}}}: search "
                    f"'{base}[r={'/'.join(map(str, covered))}]' or restrict the space to those resolutions")
        raise InvalidInput(f"{self.table.origin} has no entry for op {missing[0]} (and {len(missing) - 1} more ops "
                           f"that {self.space.name} needs){hint}")

    @classmethod
    def covering(cls, table: LatencyTable, space: SearchSpace) -> "LatencyModel":
        """A model on ``space`` restricted to the resolutions the table fully covers (an error if none)."""
        ops = space_ops(space, table.fusion)
        covered = [r for r in ops.resolutions if _covers(table, ops, r)]
        if covered and len(covered) < len(ops.resolutions):
            space = space.restrict(r=covered)
        return cls(table, space)

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        genomes = self.space.check_genomes(genomes)
        idx = self.space.option_indices(genomes)
        r = idx["r"]
        per_block = self.block[np.arange(self.block.shape[0])[None, :], idx["ks"], idx["e"], r[:, None]]
        per_block = np.where(idx["active"], per_block, 0.0)
        total = self.pre[r].copy()
        for j in range(per_block.shape[1]):  # execution order, as a per-layer sum would add them
            total += per_block[:, j]
        post = self.post[r]
        for j in range(post.shape[1]):
            total += post[:, j]
        if self.scale != 1.0 or self.offset != 0.0:  # end-to-end calibration of a profiled table
            total = self.scale * total + self.offset
        return total

    def breakdown(self, arch: Mapping[str, Any]) -> list[tuple[str, float]]:
        """(op key, latency) of every kernel one subnet runs, in execution order."""
        from .opspec import layout_ops

        layout = self.space.layout(arch)
        return [(op.key, self.table.latency(op.key, layout.resolution)) for op in layout_ops(layout, self.table.fusion)]

    def cost_model(self, name: str, extra: Mapping[str, Any] | None = None) -> CostModel:
        meta = dict(self.table.metadata) | {"table": self.table.origin, "ops": len(self.table)} | dict(extra or {})
        return CostModel(name, "latency", "ms", self.space, self.predict, meta)


def _needed(ops: SpaceOps, r: int) -> list[OpSpec]:
    """Every op some subnet at resolution ``r`` runs."""
    ri = ops.resolutions.index(r)
    needed = list(ops.pre[ri] + ops.post[ri])
    needed += [op for per_pos in ops.blocks for per_k in per_pos for per_e in per_k for op in per_e[ri]]
    return needed


def _covers(table: LatencyTable, ops: SpaceOps, r: int) -> bool:
    return all(table.has(op.key, r) for op in _needed(ops, r))


def _ordered_sum(values: list[float]) -> float:
    total = 0.0
    for v in values:
        total += v
    return total


def latency_target(table: LatencyTable, space: SearchSpace, name: str | None = None) -> CostModel:
    """A table as a search target on ``space``."""
    if not np.isfinite(table.rows["latency_ms"]).all():
        raise InvalidInput(f"{table.origin} holds non-finite latencies")
    return LatencyModel(table, space).cost_model(name or table.metadata.get("name") or table.origin)
