"""Elastic transformer MLP: fc1 to the active hidden width (a prefix), exact GELU, fc2 back to the
token width. A multi-architecture batch runs the full hidden width and zeroes, per sample, the hidden
units its arch does not have (GELU of a bias is not zero, so the mask comes after the activation)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .elastic_linear import ElasticLinearInOut

__all__ = ["ElasticMLP"]


class ElasticMLP(nn.Module):
    def __init__(self, max_channels: int, max_hidden: int):
        super().__init__()
        self.fc1 = ElasticLinearInOut(max_channels, max_hidden)
        self.fc2 = ElasticLinearInOut(max_hidden, max_channels)

    def forward(self, x: torch.Tensor, hidden: int) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x, hidden)), x.size(-1))

    def masked(self, x: torch.Tensor, hidden_mask: torch.Tensor, out_mask: torch.Tensor | None) -> torch.Tensor:
        return self.fc2.masked(F.gelu(self.fc1(x)) * hidden_mask, out_mask)
