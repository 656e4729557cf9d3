"""The classification head of a vision transformer over an elastic width: LayerNorm (eps 1e-6) of the
class token over its active channels, then a linear layer to the classes."""

from __future__ import annotations

import torch
from torch import nn

from .elastic_linear import ElasticLinearInOut
from .masked_layer_norm import ElasticLayerNorm

__all__ = ["ElasticClsHead"]


class ElasticClsHead(nn.Module):
    def __init__(self, max_channels: int, n_classes: int):
        super().__init__()
        self.norm = ElasticLayerNorm(max_channels)
        self.linear = ElasticLinearInOut(max_channels, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens ``[B, N, c]`` -> logits ``[B, n_classes]``."""
        return self.linear(self.norm(x[:, 0]))

    def masked(self, x: torch.Tensor, embed_mask: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        """``embed_mask`` ``[B, 1, C]`` and ``count`` ``[B, 1, 1]``: each sample's width."""
        return self.linear.masked(self.norm.masked(x[:, 0], embed_mask[:, 0], count[:, 0]))
