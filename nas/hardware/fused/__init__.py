"""Fused CPU kernels for whole blocks of static subnets (inference).

``fuse_blocks(static_net)`` swaps every block it covers for one C++ kernel call: OFA-MobileNetV3's
inverted residuals (``torch.ops.nas_fused.inverted_residual``: tiled expand -> depthwise -> [SE] ->
project) and ResNet basic and bottleneck blocks (``torch.ops.nas_fused.conv_block``: the chain of dense
convs, the shortcut and the add), AVX2 + OpenMP, BN folded. ``available()`` / ``error()`` say whether
the kernels compiled on this machine; ``library_path()`` is the shared library an exported model loads
with ``torch.ops.load_library``. See ``csrc/*.cpp`` for the layouts and tiling. ``TritonInvertedResidual``
is the inverted-residual block as a Triton kernel for CUDA devices (needs ``pip install triton``).
"""

from ._ext import available, error, library_path, load
from .conv_block import FusedConvBlock
from .fuse import FusionReport, fuse_blocks, fused_module
from .inverted_residual import FusedInvertedResidual
from .pack import Unsupported, fold_conv_bn
from .triton_ir import TritonInvertedResidual
from .triton_ir import available as triton_available

__all__ = ["available", "error", "library_path", "load", "fuse_blocks", "fused_module", "FusedInvertedResidual",
           "FusedConvBlock", "FusionReport", "Unsupported", "fold_conv_bn", "TritonInvertedResidual",
           "triton_available"]
