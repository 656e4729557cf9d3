"""Elastic multi-head self-attention: the active heads (a prefix) times a fixed head dim. qkv's rows
are laid out [3, heads, head_dim] as in timm, so the active rows are the first ``heads * head_dim`` of
each of q, k and v; proj takes the same prefix of its inputs. A multi-architecture batch runs every
head and zeroes, per sample, the outputs of the heads its arch does not have before proj."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .elastic_linear import ElasticLinearInOut

__all__ = ["ElasticAttention"]


class ElasticAttention(nn.Module):
    def __init__(self, max_channels: int, max_heads: int, head_dim: int):
        super().__init__()
        self.max_heads, self.head_dim = max_heads, head_dim
        self.qkv = ElasticLinearInOut(max_channels, 3 * max_heads * head_dim, out_groups=3)
        self.proj = ElasticLinearInOut(max_heads * head_dim, max_channels)

    def _attend(self, x: torch.Tensor, heads: int) -> torch.Tensor:
        b, n, _ = x.shape
        qkv = self.qkv(x, heads * self.head_dim).reshape(b, n, 3, heads, self.head_dim).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return y.transpose(1, 2).reshape(b, n, heads * self.head_dim)

    def forward(self, x: torch.Tensor, heads: int) -> torch.Tensor:
        """Single architecture: ``x`` ``[B, N, c]`` (the active width), ``heads`` active heads."""
        return self.proj(self._attend(x, heads), x.size(-1))

    def masked(self, x: torch.Tensor, head_mask: torch.Tensor, out_mask: torch.Tensor | None) -> torch.Tensor:
        """Multi-architecture: ``x`` ``[B, N, C]`` zero beyond each sample's width; ``head_mask``
        ``[B, 1, heads * head_dim]`` (a head's channels are consecutive); outputs times ``out_mask``."""
        return self.proj.masked(self._attend(x, self.max_heads) * head_mask, out_mask)
