"""An elastic pre-norm transformer block (ViT-ResNAS's searchable block): ``x + attn(norm1(x))``, then
``x + mlp(norm2(x))``, each branch through drop path; active heads, MLP hidden width and (if
removable) whether it runs are set per subnet, or given per sample for a multi-architecture batch."""

from __future__ import annotations

import torch

from .drop_path import DropPath
from .elastic_attention import ElasticAttention
from .elastic_mlp import ElasticMLP
from .masked_layer_norm import ElasticLayerNorm
from .removable import RemovableBlock

__all__ = ["ElasticViTBlock"]


class ElasticViTBlock(RemovableBlock):
    def __init__(self, max_channels: int, max_heads: int, head_dim: int, max_hidden: int, drop_path: float = 0.0,
                 removable: bool = False):
        super().__init__(removable)
        self.norm1 = ElasticLayerNorm(max_channels)
        self.attn = ElasticAttention(max_channels, max_heads, head_dim)
        self.norm2 = ElasticLayerNorm(max_channels)
        self.mlp = ElasticMLP(max_channels, max_hidden)
        self.drop_path = DropPath(drop_path)
        self.heads, self.hidden = max_heads, max_hidden

    def set_active(self, heads: int, hidden: int, kept: bool = True) -> None:
        self.heads, self.hidden = int(heads), int(hidden)
        self.set_kept(kept)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.kept:
            return x
        x = x + self.drop_path(self.attn(self.norm1(x), self.heads))
        return x + self.drop_path(self.mlp(self.norm2(x), self.hidden))

    def masked(self, x: torch.Tensor, embed_mask: torch.Tensor, count: torch.Tensor, head_mask: torch.Tensor,
               hidden_mask: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        """``embed_mask`` ``[B, 1, C]`` and ``count`` ``[B, 1, 1]``: each sample's width; ``head_mask``
        ``[B, 1, heads * head_dim]``; ``hidden_mask`` ``[B, 1, hidden]``; ``keep`` ``[B, 1, 1]`` (None: all run)."""
        gate = self.gate(embed_mask, keep)
        x = x + self.drop_path(self.attn.masked(self.norm1.masked(x, embed_mask, count), head_mask, gate))
        return x + self.drop_path(self.mlp.masked(self.norm2.masked(x, embed_mask, count), hidden_mask, gate))
