"""Once-for-all's MobileNetV3 spaces (``ofa_mbv3_d234_e346_k357_w1.0`` / ``_w1.2``).

5 elastic stages of up to 4 blocks; per block kernel ``ks`` in {3,5,7} and expand ratio ``e`` in
{3,4,6}; per stage depth ``d`` in {2,3,4}; input resolution ``r``. The genome is DyNAS-T's
(20 ks, 20 e, 5 d option indices, in that order) followed by the resolution index when it varies.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ._registry import register_space
from ._space import Arch, Choice, SearchSpace
from .errors import InvalidArchitecture
from .mobilenet_v3_layout import MobileNetV3Layout, MobileNetV3Macro

__all__ = ["OFAMobileNetV3Space", "ofa_mbv3", "ofa_mbv3_w12"]


class OFAMobileNetV3Space(SearchSpace):
    """An OFA-MobileNetV3 space over a fixed macro-architecture (widths, strides, SE, activations)."""

    def __init__(
        self,
        name: str,
        macro: MobileNetV3Macro,
        resolutions: Sequence[int],
        ks: Sequence[int] = (3, 5, 7),
        e: Sequence[int] = (3, 4, 6),
        d: Sequence[int] = (2, 3, 4),
        description: str = "",
    ):
        self.macro = macro
        n = macro.n_blocks
        choices = [
            Choice("ks", tuple(ks), n, "depthwise kernel size per block"),
            Choice("e", tuple(e), n, "expand ratio per block"),
            Choice("d", tuple(d), macro.n_stages, "number of blocks per stage"),
            Choice("r", tuple(resolutions), 1, "input resolution"),
        ]
        super().__init__(name, choices, description)

    def _on_restrict(self) -> None:
        self.__dict__.pop("_tables", None)

    # ---------------------------------------------------------------- structure
    def depth_of(self, genomes: np.ndarray) -> np.ndarray:
        return self.values(genomes, "d").astype(np.int64)

    def active_mask(self, genomes: np.ndarray) -> np.ndarray:
        mask = np.ones(genomes.shape, dtype=bool)
        block_active = self.active_blocks(genomes)
        for key in ("ks", "e"):
            if key in self.gene_slices:
                mask[:, self.gene_slices[key]] = block_active
        return mask

    def active_blocks(self, genomes: np.ndarray) -> np.ndarray:
        """``[n, n_blocks]``: whether each elastic block runs (it is within its stage's depth)."""
        depth = self.depth_of(genomes)
        index_in_stage = np.tile(np.arange(self.macro.max_depth), self.macro.n_stages)
        return index_in_stage[None, :] < np.repeat(depth, self.macro.max_depth, axis=1)

    def layout(self, arch: Mapping[str, Any]) -> MobileNetV3Layout:
        arch = self.validate(arch)
        return self.macro.layout(arch["ks"], arch["e"], arch["d"], arch["r"])

    @property
    def size(self) -> int:
        per_block = len(self.choice("ks").options) * len(self.choice("e").options)
        per_stage = sum(per_block**depth for depth in self.choice("d").options)
        return per_stage**self.macro.n_stages * len(self.choice("r").options)

    # ------------------------------------------------------------------ counting
    @property
    def _count_tables(self) -> dict[str, np.ndarray]:
        """Per-block params/MACs for every (position, ks, e, r) option, built once per space."""
        if "_tables" not in self.__dict__:
            ks, e, r = (self.choice(k).options for k in ("ks", "e", "r"))
            n = self.macro.n_blocks
            macs = np.zeros((n, len(ks), len(e), len(r)), dtype=np.int64)
            params = np.zeros((n, len(ks), len(e)), dtype=np.int64)
            for pos in range(n):
                for ki, k in enumerate(ks):
                    for ei, ee in enumerate(e):
                        for ri, res in enumerate(r):
                            spec = self.macro.block_spec(pos, k, ee, res)
                            macs[pos, ki, ei, ri] = spec.macs
                        params[pos, ki, ei] = spec.params
            fixed = [self.macro.fixed_specs(res) for res in r]
            self.__dict__["_tables"] = {
                "block_macs": macs,
                "block_params": params,
                "fixed_macs": np.array([sum(s.macs for s in f) for f in fixed], dtype=np.int64),
                "fixed_params": np.int64(sum(s.params for s in fixed[0])),
            }
        return self.__dict__["_tables"]

    def option_indices(self, genomes: np.ndarray) -> dict[str, np.ndarray]:
        """Per-block option indices (``ks``, ``e``: ``[n, n_blocks]``), ``r``: ``[n]``, and ``active``."""
        n = len(genomes)
        out = {}
        for key in ("ks", "e"):
            sl = self.gene_slices.get(key)
            out[key] = genomes[:, sl] if sl is not None else np.zeros((n, self.macro.n_blocks), dtype=np.int64)
        sl = self.gene_slices.get("r")
        out["r"] = genomes[:, sl.start] if sl is not None else np.zeros(n, dtype=np.int64)
        out["active"] = self.active_blocks(genomes)
        return out

    def count(self, genomes: np.ndarray) -> dict[str, np.ndarray]:
        genomes = self.check_genomes(genomes)
        t = self._count_tables
        idx = self.option_indices(genomes)
        pos = np.arange(self.macro.n_blocks)[None, :]
        block_macs = t["block_macs"][pos, idx["ks"], idx["e"], idx["r"][:, None]]
        block_params = t["block_params"][pos, idx["ks"], idx["e"]]
        return {
            "macs": t["fixed_macs"][idx["r"]] + np.where(idx["active"], block_macs, 0).sum(axis=1),
            "params": t["fixed_params"] + np.where(idx["active"], block_params, 0).sum(axis=1),
        }

    # ------------------------------------------------------------------ features
    def feature_kinds(self) -> tuple[str, ...]:
        return super().feature_kinds() + ("ofa",)

    def features(self, genomes: np.ndarray, kind: str = "onehot") -> np.ndarray:
        if kind != "ofa":
            return super().features(genomes, kind)
        return self.ofa_features(self.check_genomes(genomes))

    def ofa_features(self, genomes: np.ndarray) -> np.ndarray:
        """once-for-all's predictor input: per block one-hot ks, then e (zeroed past the stage depth),
        then one-hot resolution bucket ``(r - 112) // 16`` (8 buckets: 112..239)."""
        idx = self.option_indices(genomes)
        n, nb = idx["ks"].shape
        n_ks, n_e = len(self.choice("ks").options), len(self.choice("e").options)
        out = np.zeros((n, nb * (n_ks + n_e) + 8), dtype=np.float32)
        rows, blocks = np.nonzero(idx["active"])
        out[rows, blocks * n_ks + idx["ks"][rows, blocks]] = 1.0
        out[rows, nb * n_ks + blocks * n_e + idx["e"][rows, blocks]] = 1.0
        r = self.values(genomes, "r")[:, 0].astype(np.int64)
        bucket = (r - 112) // 16
        if ((bucket < 0) | (bucket > 7)).any():
            raise InvalidArchitecture(f"once-for-all features need resolutions in 112..239; got {sorted(set(r))}")
        out[np.arange(n), nb * (n_ks + n_e) + bucket] = 1.0
        return out

    def canonical_arch(self, arch: Mapping[str, Any]) -> Arch:
        """The arch with blocks past each stage's depth set to the first option (same network)."""
        return self.decode(self.canonical(self.encode(arch)[None, :])[0])


def _resolutions(lo: int, hi: int, step: int = 4) -> tuple[int, ...]:
    return tuple(range(lo, hi + 1, step))


@register_space("ofa-mbv3")
def ofa_mbv3() -> OFAMobileNetV3Space:
    return OFAMobileNetV3Space(
        "ofa-mbv3",
        MobileNetV3Macro(width_mult=1.0),
        _resolutions(128, 224),
        description="once-for-all MobileNetV3 w1.0 (ofa_mbv3_d234_e346_k357_w1.0; DyNAS-T's default supernet)",
    )


@register_space("ofa-mbv3-w1.2")
def ofa_mbv3_w12() -> OFAMobileNetV3Space:
    return OFAMobileNetV3Space(
        "ofa-mbv3-w1.2",
        MobileNetV3Macro(width_mult=1.2, dropout=0.2),
        _resolutions(160, 224),
        description="once-for-all MobileNetV3 w1.2 (ofa_mbv3_d234_e346_k357_w1.2)",
    )
