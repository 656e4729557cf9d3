"""Squeeze-and-excitation over a prefix of the channels."""

from __future__ import annotations

import torch
from torch import nn

from search_spaces.mobilenet_v3_layout import make_divisible

from .elastic_conv import fan_in_uniform_

__all__ = ["ElasticSqueezeExcite", "se_channels"]


def se_channels(channels: int, reduction: int = 4) -> int:
    return make_divisible(channels // reduction, 8)


class ElasticSqueezeExcite(nn.Module):
    """SE whose hidden width follows the active channel count (``make_divisible(c // 4, 8)``)."""

    def __init__(self, max_channels: int):
        super().__init__()
        hidden = se_channels(max_channels)
        self.reduce_weight = nn.Parameter(torch.empty(hidden, max_channels, 1, 1))
        self.reduce_bias = nn.Parameter(torch.empty(hidden))
        self.expand_weight = nn.Parameter(torch.empty(max_channels, hidden, 1, 1))
        self.expand_bias = nn.Parameter(torch.empty(max_channels))
        fan_in_uniform_(self.reduce_weight, self.reduce_bias)
        fan_in_uniform_(self.expand_weight, self.expand_bias)

    def active_params(self, c: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        h = se_channels(c)
        return self.reduce_weight[:h, :c], self.reduce_bias[:h], self.expand_weight[:c, :h], self.expand_bias[:c]
