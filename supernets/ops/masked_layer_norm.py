"""LayerNorm over the active channels only. Single architecture: the first ``c`` channels of the
scale and shift (``F.layer_norm`` on a ``c``-wide input). Multi-architecture batch: each sample's
mean and variance are taken over its own active channels (a per-sample 0/1 mask), the affine applies
to those channels and every other channel is zero, as ViT-ResNAS's masked layer norm."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ElasticLayerNorm"]


class ElasticLayerNorm(nn.Module):
    def __init__(self, max_channels: int, eps: float = 1e-6):
        super().__init__()
        self.max_channels, self.eps = max_channels, eps
        self.weight = nn.Parameter(torch.ones(max_channels))
        self.bias = nn.Parameter(torch.zeros(max_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalizes over the width ``x`` has (a prefix of ``max_channels``)."""
        c = x.size(-1)
        if c == self.max_channels:
            return F.layer_norm(x, (c,), self.weight, self.bias, self.eps)
        return F.layer_norm(x, (c,), self.weight[:c], self.bias[:c], self.eps)

    def masked(self, x: torch.Tensor, mask: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        """``x`` ``[B, ..., C]``; ``mask`` 0/1 broadcastable to it (``[B, 1, C]``); ``count`` the active channels
        per sample (``[B, 1, 1]``). Inactive channels of the result are zero."""
        mean = (x * mask).sum(-1, keepdim=True) / count
        centered = (x - mean) * mask
        var = (centered * centered).sum(-1, keepdim=True) / count
        return centered * torch.rsqrt(var + self.eps) * self.weight + self.bias * mask
