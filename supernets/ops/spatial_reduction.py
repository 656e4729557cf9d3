"""ViT-ResNAS's residual spatial reduction between stages: the token grid halves and the width grows.

Every token is layer-normed (over the active width). Patch tokens: back to a map, conv 3x3 stride 2
(pad 1, bias) to the next stage's width, to tokens, plus a new position embedding. The class token:
a linear layer to the next width. The residual form adds a skip: the patch map 2x2-average-pooled and
the raw class token, both zero-padded to the new width. ``residual=False`` is the plain reduction of
the paper's ablation. A multi-architecture batch normalizes each sample over its own width and masks
the outputs to each sample's next width (inputs beyond a sample's width are zero, so the full-width
conv, linear and skip equal their slices)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .elastic_convbn import WeightCache
from .elastic_linear import ElasticLinearInOut
from .masked_layer_norm import ElasticLayerNorm

__all__ = ["ElasticSpatialReduction", "pool_skip"]


def pool_skip(x: torch.Tensor, height: int, width: int, out_channels: int) -> torch.Tensor:
    """Tokens ``[B, 1 + H*W, C]`` -> the residual of a spatial reduction: the class token and the 2x2 average
    pooled patches (ceil mode), zero-padded to ``out_channels``."""
    b, _, c = x.shape
    grid = x[:, 1:].transpose(1, 2).reshape(b, c, height, width)
    pooled = F.avg_pool2d(grid, 2, 2, ceil_mode=True).flatten(2).transpose(1, 2)
    return F.pad(torch.cat((x[:, :1], pooled), dim=1), [0, out_channels - c])


class ElasticSpatialReduction(nn.Module):
    def __init__(self, max_in: int, max_out: int, grid: int, residual: bool = True):
        super().__init__()
        if max_out < max_in:
            raise ValueError(f"a spatial reduction widens the tokens ({max_in} -> {max_out} narrows them)")
        self.max_in, self.max_out, self.grid, self.residual = max_in, max_out, grid, residual
        self.grid_out = (grid + 1) // 2
        self.norm = ElasticLayerNorm(max_in)
        self.conv = nn.Conv2d(max_in, max_out, 3, 2, 1)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid_out ** 2, max_out))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.cls_proj = ElasticLinearInOut(max_in, max_out)
        self._cache = WeightCache()

    def _reduce(self, x: torch.Tensor, y: torch.Tensor, out: int) -> torch.Tensor:
        """``x`` the input tokens, ``y`` their normalized form; ``out`` the output width."""
        b, _, c = y.shape
        if (c, out) == (self.max_in, self.max_out):
            w, bias, pos = self.conv.weight, self.conv.bias, self.pos_embed
        else:
            w, bias = self._cache.get((self.conv.weight, self.conv.bias), (out, c),
                                      lambda: (self.conv.weight[:out, :c], self.conv.bias[:out]))
            pos = self.pos_embed[..., :out]
        grid = y[:, 1:].transpose(1, 2).reshape(b, c, self.grid, self.grid)
        patches = F.conv2d(grid, w, bias, 2, 1).flatten(2).transpose(1, 2) + pos
        tokens = torch.cat((self.cls_proj(y[:, :1], out), patches), dim=1)
        return tokens + pool_skip(x, self.grid, self.grid, out) if self.residual else tokens

    def forward(self, x: torch.Tensor, out: int) -> torch.Tensor:
        """Single architecture: ``x`` ``[B, 1 + grid^2, c]`` -> ``[B, 1 + grid_out^2, out]``."""
        return self._reduce(x, self.norm(x), out)

    def masked(self, x: torch.Tensor, in_mask: torch.Tensor, in_count: torch.Tensor,
               out_mask: torch.Tensor) -> torch.Tensor:
        """Multi-architecture: ``in_mask``/``in_count`` each sample's input width, ``out_mask`` ``[B, 1, max_out]``."""
        return self._reduce(x, self.norm.masked(x, in_mask, in_count), self.max_out) * out_mask
