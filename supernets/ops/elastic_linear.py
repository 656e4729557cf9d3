"""An elastic linear layer for token ops: the active subnet uses a prefix of the inputs and of the
outputs of one max-size weight (by output group: qkv's rows are laid out [3, heads, head_dim], so the
active rows are the first ``out`` of each of the 3 groups). A multi-architecture batch runs the full
weight on inputs that are zero beyond each sample's active channels and multiplies the outputs by a
per-sample mask. With autograd off, sliced weights are cached contiguous until a parameter changes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .elastic_convbn import WeightCache

__all__ = ["ElasticLinearInOut"]


class ElasticLinearInOut(nn.Module):
    """``y = x W[:out, :in]^T + b[:out]`` (per output group); DeiT's init (trunc normal 0.02, bias 0)."""

    def __init__(self, max_in: int, max_out: int, out_groups: int = 1):
        super().__init__()
        if max_out % out_groups:
            raise ValueError(f"{max_out} outputs do not split into {out_groups} groups")
        self.max_in, self.max_out, self.out_groups = max_in, max_out, out_groups
        self.weight = nn.Parameter(torch.empty(max_out, max_in))
        self.bias = nn.Parameter(torch.zeros(max_out))
        nn.init.trunc_normal_(self.weight, std=0.02)
        self._cache = WeightCache()

    @property
    def group_width(self) -> int:
        return self.max_out // self.out_groups

    def active_params(self, out: int, inp: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight ``[groups * out, inp]`` and bias of the first ``out`` outputs of each group."""
        g = self.out_groups
        if g == 1:
            return self.weight[:out, :inp], self.bias[:out]
        w = self.weight.view(g, self.group_width, self.max_in)[:, :out, :inp].reshape(g * out, inp)
        return w, self.bias.view(g, self.group_width)[:, :out].reshape(g * out)

    def forward(self, x: torch.Tensor, out: int | None = None) -> torch.Tensor:
        """Single-architecture path: ``x``'s width is the active input; ``out`` outputs per group."""
        inp, out = x.size(-1), self.group_width if out is None else out
        if inp == self.max_in and out == self.group_width:
            return F.linear(x, self.weight, self.bias)
        w, b = self._cache.get((self.weight, self.bias), (out, inp), lambda: self.active_params(out, inp))
        return F.linear(x, w, b)

    def masked(self, x: torch.Tensor, out_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Multi-architecture path: full width in (zeros beyond each sample's active inputs), outputs times
        ``out_mask`` (broadcast against ``[B, ..., max_out]``; None: keep all)."""
        y = F.linear(x, self.weight, self.bias)
        return y if out_mask is None else y * out_mask
