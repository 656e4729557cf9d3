"""Once-for-all's MobileNetV3 spaces (``ofa_mbv3_d234_e346_k357_w1.0`` / ``_w1.2``).

5 elastic stages of up to 4 blocks; per block kernel ``ks`` in {3,5,7} and expand ratio ``e`` in
{3,4,6}; per stage depth ``d`` in {2,3,4}; input resolution ``r``. The genome is DyNAS-T's
(20 ks, 20 e, 5 d option indices, in that order) followed by the resolution index when it varies.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from . import ofa_mbv3_lookup as _lookup  # noqa: F401  (registers once-for-all's table keys)
from ._registry import register_space
from ._space import Arch, Choice, SearchSpace
from .elastic import ShrinkingOrder, ShrinkStage
from .errors import InvalidArchitecture, InvalidInput
from .formats import ForeignArchFormat
from .mobilenet_v3_layout import MobileNetV3Layout, MobileNetV3Macro, mbconv_op
from .structure import SlotSpec, Structured

__all__ = ["OFAMobileNetV3Space", "ofa_mbv3", "ofa_mbv3_w12"]


class OFAMobileNetV3Space(Structured, ShrinkingOrder, ForeignArchFormat, SearchSpace):
    """An OFA-MobileNetV3 space over a fixed macro-architecture (widths, strides, SE, activations);
    subnets also read and write as once-for-all ``net.config`` files."""

    resolution_key = "r"
    foreign_format = "net.config"
    # once-for-all's train_ofa_net.py: kernel (1 subnet per step), depth (2), expand (4, channels sorted)
    shrink_order = (ShrinkStage("ks", "kernel", 1, 1), ShrinkStage("d", "depth", 2, 2),
                    ShrinkStage("e", "expand", 2, 4, sort_channels=True))

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
        self.n_classes = macro.n_classes
        n = macro.n_blocks
        choices = [
            Choice("ks", tuple(ks), n, "depthwise kernel size per block"),
            Choice("e", tuple(e), n, "expand ratio per block"),
            Choice("d", tuple(d), macro.n_stages, "number of blocks per stage"),
            Choice("r", tuple(resolutions), 1, "input resolution"),
        ]
        super().__init__(name, choices, description)

    # ---------------------------------------------------------------- structure
    def slot_specs(self) -> list[SlotSpec]:
        m = self.macro
        r = (("r", 0),)

        def fixed(i: int, name: str):
            return lambda res: (m.fixed_op(i, res).renamed(name),)

        slots = [SlotSpec("stem", r, fixed(0, "stem")), SlotSpec("blocks.first", r, fixed(1, "blocks"))]
        for pos in range(m.n_blocks):
            slots.append(SlotSpec(f"blocks.{pos}", (("ks", pos), ("e", pos), *r),
                                  lambda k, e, res, p=pos: (mbconv_op(m.block_spec(p, k, e, res), "blocks"),)))
        for i, name in enumerate(("final_expand", "pool", "feature_mix", "classifier"), start=2):
            slots.append(SlotSpec(name, r, fixed(i, name)))
        return slots

    def slot_active(self, genomes: np.ndarray) -> np.ndarray:
        active = np.ones((len(genomes), self.macro.n_blocks + 6), dtype=bool)
        active[:, 2:2 + self.macro.n_blocks] = self.active_blocks(genomes)
        return active

    def input_shape(self, arch: Mapping[str, Any]) -> tuple[int, int, int]:
        r = int(self.validate(arch)["r"])
        return 3, r, r

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

    # ------------------------------------------------------------ net.config
    def is_foreign_arch(self, obj: Any) -> bool:
        from .ofa_mbv3_net_config import is_net_config

        return is_net_config(obj)

    def arch_from_foreign(self, obj: Mapping[str, Any], path, resolution: int | None = None) -> Arch:
        from pathlib import Path

        from .ofa_mbv3_net_config import net_config_to_arch, run_config_image_size

        r = resolution or run_config_image_size(Path(path))
        if r is None:
            raise InvalidInput(f"{path} holds no resolution: pass --resolution or put its run.config beside it")
        return net_config_to_arch(self, obj, int(r))

    def arch_to_foreign(self, arch: Mapping[str, Any]) -> dict:
        from .ofa_mbv3_net_config import arch_to_net_config

        return arch_to_net_config(self, arch)

    @property
    def size(self) -> int:
        per_block = len(self.choice("ks").options) * len(self.choice("e").options)
        per_stage = sum(per_block**depth for depth in self.choice("d").options)
        return per_stage**self.macro.n_stages * len(self.choice("r").options)

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

    def feature_support(self, kind: str) -> dict[str, tuple]:
        if kind != "ofa":
            return super().feature_support(kind)
        rs = self.choice("r").options
        inside = tuple(r for r in rs if 112 <= r < 240)
        return {"r": inside} if len(inside) < len(rs) else {}


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
