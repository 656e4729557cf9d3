"""The conv patch embedding of ViT-ResNAS (the reference's PatchConvEmbed layout): conv 3x3 stride 2 +
BN + ReLU to ``mid`` channels, two conv 3x3 + BN + ReLU with a residual around the pair, then a conv
``k = stride = patch / 2`` with bias to the elastic embedding width; the class token is prepended and a
position embedding added (both sliced to the active width, or masked per sample)."""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from ..static.oplib import Block, ConvBNAct

__all__ = ["ElasticConvPatchEmbed"]


class ElasticConvPatchEmbed(nn.Module):
    def __init__(self, image: int, patch: int, mid: int, max_embed: int):
        super().__init__()
        if patch % 2 or image % patch:
            raise ValueError(f"patch {patch} must be even and divide the image size {image}")
        self.kernel, self.max_embed = patch // 2, max_embed
        self.conv = ConvBNAct(3, mid, 3, 2, act="relu")
        pair = OrderedDict((f"conv{i}", ConvBNAct(mid, mid, 3, 1, act="relu")) for i in (1, 2))
        self.res = Block(nn.Sequential(pair), nn.Sequential(), residual=True, post_act="none")
        self.proj = nn.Conv2d(mid, max_embed, self.kernel, self.kernel)
        tokens = (image // patch) ** 2 + 1
        self.cls_token = nn.Parameter(torch.zeros(1, 1, max_embed))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, max_embed))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """The convs before the elastic projection (no elastic width): ``[B, 3, H, W]`` -> ``[B, mid, h, w]``."""
        return self.res(self.conv(x))

    def project(self, y: torch.Tensor, c: int) -> torch.Tensor:
        """``trunk``'s output -> tokens ``[B, 1 + N, c]`` (the class token and position embedding added)."""
        w, b = (self.proj.weight, self.proj.bias) if c == self.max_embed else (self.proj.weight[:c], self.proj.bias[:c])
        y = F.conv2d(y, w, b, self.kernel).flatten(2).transpose(1, 2)
        cls, pos = (self.cls_token, self.pos_embed) if c == self.max_embed else \
            (self.cls_token[..., :c], self.pos_embed[..., :c])
        return torch.cat((cls.expand(y.size(0), -1, -1), y), dim=1) + pos

    def forward(self, x: torch.Tensor, embed: int) -> torch.Tensor:
        """Images ``[B, 3, H, W]`` -> tokens ``[B, 1 + N, embed]``."""
        return self.project(self.trunk(x), embed)

    def masked(self, x: torch.Tensor, embed_mask: torch.Tensor) -> torch.Tensor:
        """Tokens at the full width, zero beyond each sample's embedding width (``embed_mask`` ``[B, 1, C]``)."""
        return self.project(self.trunk(x), self.max_embed) * embed_mask
