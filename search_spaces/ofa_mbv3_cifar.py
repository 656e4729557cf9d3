"""``ofa-mbv3-cifar``: once-for-all's MobileNetV3 space sized for 32x32 images and 10 classes.

The elastic dimensions are once-for-all's (per block kernel ``ks`` in {3,5,7} and expand ratio ``e``
in {3,4,6}, per stage depth ``d`` in {2,3,4}, input resolution ``r``); the stem keeps the input size
(stride 1) so that a 32x32 image reaches the last stage at 2x2, as a 64x64 image would with the
ImageNet stem. Resolutions are 24, 28 and 32 (CIFAR's own size is the largest).
"""

from __future__ import annotations

import numpy as np

from ._registry import register_space
from .mobilenet_v3_layout import MobileNetV3Macro
from .ofa_mbv3 import OFAMobileNetV3Space

__all__ = ["OFAMobileNetV3CifarSpace", "ofa_mbv3_cifar", "ofa_mbv3_cifar_small", "CIFAR_RESOLUTIONS"]

CIFAR_RESOLUTIONS = (24, 28, 32)


class OFAMobileNetV3CifarSpace(OFAMobileNetV3Space):
    """once-for-all's predictor features bucket resolutions 112..239; here each resolution is its own bucket."""

    def feature_support(self, kind: str) -> dict[str, tuple]:
        return {}  # every resolution has its own bucket

    def ofa_features(self, genomes: np.ndarray) -> np.ndarray:
        idx = self.option_indices(genomes)
        n, nb = idx["ks"].shape
        n_ks, n_e = len(self.choice("ks").options), len(self.choice("e").options)
        n_r = len(self.choice("r").options)
        out = np.zeros((n, nb * (n_ks + n_e) + n_r), dtype=np.float32)
        rows, blocks = np.nonzero(idx["active"])
        out[rows, blocks * n_ks + idx["ks"][rows, blocks]] = 1.0
        out[rows, nb * n_ks + blocks * n_e + idx["e"][rows, blocks]] = 1.0
        out[np.arange(n), nb * (n_ks + n_e) + idx["r"]] = 1.0
        return out


@register_space("ofa-mbv3-cifar")
def ofa_mbv3_cifar() -> OFAMobileNetV3CifarSpace:
    return OFAMobileNetV3CifarSpace(
        "ofa-mbv3-cifar",
        MobileNetV3Macro(width_mult=1.0, stem_stride=1, n_classes=10, dropout=0.1),
        CIFAR_RESOLUTIONS,
        description="once-for-all MobileNetV3 w1.0 for 32x32 images, 10 classes (stride-1 stem; CIFAR-10)",
    )


@register_space("ofa-mbv3-cifar-small")
def ofa_mbv3_cifar_small() -> OFAMobileNetV3CifarSpace:
    """Half the width and ImageNet's stride-2 stem: ~9x fewer MACs than ``ofa-mbv3-cifar`` (5.5M at most),
    so that supernet training on all of CIFAR-10 fits a CPU (strategy comparisons at full scale)."""
    return OFAMobileNetV3CifarSpace(
        "ofa-mbv3-cifar-small",
        MobileNetV3Macro(width_mult=0.5, stem_stride=2, n_classes=10, dropout=0.1),
        CIFAR_RESOLUTIONS,
        description="once-for-all MobileNetV3 w0.5 with a stride-2 stem for 32x32 images, 10 classes "
                    "(5.5M MACs at most; trains on all of CIFAR-10 on a CPU)",
    )
