"""Fused CPU kernels for whole blocks of static subnets (inference).

``fuse_blocks(static_net)`` swaps every OFA-MobileNetV3 inverted-residual block it covers for one
C++ kernel call (``torch.ops.nas_fused.inverted_residual``: tiled expand -> depthwise -> [SE] ->
project, AVX2 + OpenMP, BN folded); ``available()`` / ``error()`` say whether the kernels compiled on
this machine; ``library_path()`` is the shared library an exported model loads with
``torch.ops.load_library``. See ``csrc/inverted_residual.cpp`` for the layout and tiling.
"""

from ._ext import available, error, library_path, load
from .fuse import FusedInvertedResidual, FusionReport, Unsupported, fold_conv_bn, fuse_blocks

__all__ = ["available", "error", "library_path", "load", "fuse_blocks", "FusedInvertedResidual", "FusionReport",
           "Unsupported", "fold_conv_bn"]
