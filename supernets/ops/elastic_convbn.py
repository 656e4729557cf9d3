"""Elastic conv -> BN -> activation over channel prefixes, and an elastic linear layer.

With autograd off (inference, evaluation, export) the sliced weights of the active setting are kept
contiguous in a cache until a parameter changes (tracked by tensor versions and storage), so a subnet
run inside the supernet costs what the extracted static subnet costs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .elastic_bn import ElasticBatchNorm2d

__all__ = ["ElasticConv2d", "ElasticConvBNAct", "ElasticLinear", "WeightCache"]

_ACTS = {"relu": F.relu, "none": lambda x: x}


class WeightCache:
    """Contiguous copies of sliced parameters, valid while the parameters and the slice are unchanged."""

    def __init__(self):
        self.key, self.value = None, None

    def get(self, params, setting, make):
        if torch.is_grad_enabled():
            return make()
        key = (setting, *[(p._version, p.data_ptr()) for p in params])
        if self.key != key:
            self.key, self.value = key, tuple(t.contiguous() for t in make())
        return self.value

    def clear(self) -> None:
        self.key, self.value = None, None


class ElasticConv2d(nn.Module):
    """A kxk conv whose active output and input channels are prefixes of the full weight."""

    def __init__(self, max_in: int, max_out: int, kernel_size: int = 1, stride: int = 1):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride
        self.weight = nn.Parameter(torch.empty(max_out, max_in, kernel_size, kernel_size))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")

    def active_weight(self, out_ch: int, in_ch: int) -> torch.Tensor:
        return self.weight[:out_ch, :in_ch]


class ElasticConvBNAct(nn.Module):
    """conv -> BN -> activation; ``active_out`` output channels, as many input channels as ``x`` has."""

    def __init__(self, max_in: int, max_out: int, kernel_size: int = 1, stride: int = 1, act: str = "relu"):
        super().__init__()
        self.conv = ElasticConv2d(max_in, max_out, kernel_size, stride)
        self.bn = ElasticBatchNorm2d(max_out)
        self.act = act
        self._act = _ACTS[act]
        self.active_out = max_out
        self._cache = WeightCache()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c_in, c_out = x.size(1), self.active_out
        (w,) = self._cache.get((self.conv.weight,), (c_out, c_in), lambda: (self.conv.active_weight(c_out, c_in),))
        k = self.conv.kernel_size
        return self._act(self.bn(F.conv2d(x, w, None, self.conv.stride, k // 2)))


class ElasticLinear(nn.Module):
    """A linear layer on a prefix of its inputs (all outputs)."""

    def __init__(self, max_in: int, out_features: int):
        super().__init__()
        self.linear = nn.Linear(max_in, out_features)
        self._cache = WeightCache()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.size(1)
        w, b = self._cache.get((self.linear.weight, self.linear.bias), c,
                               lambda: (self.linear.weight[:, :c], self.linear.bias))
        return F.linear(x, w, b)
