"""Fold eval-mode BatchNorm into the preceding convolution before a subnet is exported.

``y = gamma * (conv(x) - mean) / sqrt(var + eps) + beta`` is a convolution with weights scaled per
output channel and a bias, so every exported format runs one op where the subnet ran two. The pass
works on a deep copy; the subnet given to it is left as it is.

What is fused where (everything after folding is the runtimes' own work, checked against the eager,
unfolded subnet at export):

* BN into conv: here, for every format, in ``ConvBNAct`` (conv -> bn -> act) and in any
  ``nn.Sequential`` holding a ``Conv2d`` directly followed by a ``BatchNorm2d``. A BN without running
  statistics (``track_running_stats=False``: it normalizes with each batch's statistics) cannot be
  folded and stays; the export records how many did.
* Activations: ONNX Runtime fuses conv + activation itself at ``ORT_ENABLE_ALL`` (``runtimes.ort_session``);
  Inductor (AOTInductor) fuses pointwise ops into its generated kernels; the ``torch.export`` .pt2 is the
  folded graph as it is (whatever loads it does its own fusion). TorchScript is ``torch.jit.freeze``d
  only: ``torch.jit.optimize_for_inference`` (oneDNN conv + activation) gives the same outputs but its
  file does not load back (torch 2.13), so a CPU deployment applies it after ``torch.jit.load``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import nn
from torch.nn.utils import fuse_conv_bn_eval

from supernets.static.oplib import ConvBNAct

__all__ = ["FoldReport", "fold_batchnorm"]


@dataclass(frozen=True)
class FoldReport:
    folded: int  # BatchNorm2d layers folded into their conv
    left: int  # BatchNorm2d layers left as they were (no running statistics, or no conv before them)


def _foldable(conv: nn.Module, bn: nn.Module) -> bool:
    return (type(conv) is nn.Conv2d and isinstance(bn, nn.BatchNorm2d) and bn.running_mean is not None
            and bn.running_var is not None and conv.out_channels == bn.num_features)


def fold_batchnorm(module: nn.Module) -> tuple[nn.Module, FoldReport]:
    """A deep copy of ``module`` in eval mode with each foldable BatchNorm2d folded into its conv (the
    BN replaced by ``nn.Identity``), and how many were folded and left."""
    folded_net = copy.deepcopy(module).eval()
    folded = 0
    for parent in list(folded_net.modules()):
        if isinstance(parent, ConvBNAct) and _foldable(parent.conv, parent.bn):
            parent.conv, parent.bn = fuse_conv_bn_eval(parent.conv, parent.bn), nn.Identity()
            folded += 1
        if isinstance(parent, nn.Sequential):
            names = list(parent._modules)
            for first, second in zip(names, names[1:]):
                conv, bn = parent._modules[first], parent._modules[second]
                if _foldable(conv, bn):
                    parent._modules[first], parent._modules[second] = fuse_conv_bn_eval(conv, bn), nn.Identity()
                    folded += 1
    total = sum(1 for m in module.modules() if isinstance(m, nn.BatchNorm2d))
    return folded_net, FoldReport(folded, total - folded)

