"""Static modules of vision transformers (ViT-ResNAS) and their op builders. Needs only torch.

Tokens are ``[B, 1 + H*W, C]``: the class token, then the patch tokens row-major. Registered kinds:
``patch_embed`` (a map in, tokens out), ``attention``, ``mlp``, ``layernorm``, ``spatial_reduction`` and
``cls_head`` (tokens in: their builders declare the ``[N, C]`` input shape the profiler feeds). The
composite blocks (``vit_attn``, ``vit_mlp``) are oplib's generic ``Block`` over these parts. Importing
this module registers the builders (``supernets.static`` imports it; next to ``oplib.py`` in the
profiler's device kit it imports ``oplib`` as a top-level module).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

if __package__:
    from .oplib import register_builder
else:  # the profiler's device kit: oplib.py sits beside this file
    from oplib import register_builder

__all__ = ["PatchEmbed", "Attention", "Mlp", "SpatialReduction", "ClsHead", "layer_norm"]

EPS = 1e-6


def layer_norm(channels: int) -> nn.LayerNorm:
    return nn.LayerNorm(channels, eps=EPS)


class PatchEmbed(nn.Module):
    """conv kxk stride k with bias (a map to tokens), the class token prepended, a position embedding added."""

    def __init__(self, in_ch: int, embed: int, kernel: int, tokens: int):
        super().__init__()
        self.proj = nn.Conv2d(in_ch, embed, kernel, kernel)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, embed))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.proj(x).flatten(2).transpose(1, 2)
        return torch.cat((self.cls_token.expand(y.size(0), -1, -1), y), dim=1) + self.pos_embed


class Attention(nn.Module):
    """Multi-head self-attention: qkv Linear(C, 3A) laid out [3, heads, A / heads], scaled dot-product
    attention per head, proj Linear(A, C)."""

    def __init__(self, dim: int, width: int, heads: int):
        super().__init__()
        if heads <= 0 or width % heads:
            raise ValueError(f"attention width {width} does not split into {heads} heads")
        self.heads, self.head_dim = heads, width // heads
        self.qkv = nn.Linear(dim, 3 * width)
        self.proj = nn.Linear(width, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return self.proj(y.transpose(1, 2).reshape(b, n, self.heads * self.head_dim))

    def matmul_macs(self, x: torch.Tensor) -> int:
        """Multiply-accumulates per sample of the activation products (q k^T and attn v) on input ``x``."""
        n = x.size(1)
        return 2 * n * n * self.heads * self.head_dim


class Mlp(nn.Module):
    """fc1 Linear(C, M), exact GELU, fc2 Linear(M, C)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class SpatialReduction(nn.Module):
    """Tokens of an H x W grid at width C -> tokens of the (H/2) x (W/2) grid at width C2. Every token is
    layer-normed; patches: conv 3x3 stride 2 pad 1 with bias, plus a new position embedding; the class
    token: Linear(C, C2). ``residual`` adds the 2x2 average pooled patches and the raw class token,
    zero-padded from C to C2 channels."""

    def __init__(self, in_ch: int, out_ch: int, height: int, width: int, out_height: int, out_width: int,
                 residual: bool = True):
        super().__init__()
        self.height, self.width, self.pad, self.residual = height, width, out_ch - in_ch, residual
        self.norm = layer_norm(in_ch)
        self.conv = nn.Conv2d(in_ch, out_ch, 3, 2, 1)
        self.pos_embed = nn.Parameter(torch.zeros(1, out_height * out_width, out_ch))
        self.cls_proj = nn.Linear(in_ch, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, c = x.shape
        y = self.norm(x)
        grid = y[:, 1:].transpose(1, 2).reshape(b, c, self.height, self.width)
        patches = self.conv(grid).flatten(2).transpose(1, 2) + self.pos_embed
        out = torch.cat((self.cls_proj(y[:, :1]), patches), dim=1)
        if self.residual:
            skip = x[:, 1:].transpose(1, 2).reshape(b, c, self.height, self.width)
            skip = F.avg_pool2d(skip, 2, 2, ceil_mode=True).flatten(2).transpose(1, 2)
            out = out + F.pad(torch.cat((x[:, :1], skip), dim=1), [0, self.pad])
        return out


class ClsHead(nn.Module):
    """LayerNorm of the class token, then Linear(C, n_classes): tokens -> logits ``[B, n_classes]``."""

    def __init__(self, dim: int, n_classes: int):
        super().__init__()
        self.norm = layer_norm(dim)
        self.linear = nn.Linear(dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.norm(x[:, 0]))


# ----------------------------------------------------------------------------- builders
def _i(spec: Mapping[str, Any], name: str) -> int:
    return int(spec[name])


def _tokens_in(spec: Mapping[str, Any]) -> tuple[int, int]:
    """The per-sample input of a token op: ``[1 + H*W, C]``."""
    return _i(spec, "in_h") * _i(spec, "in_w") + 1, _i(spec, "in_c")


@register_builder("patch_embed")
def _build_patch_embed(spec: Mapping[str, Any], batch: int) -> nn.Module:
    return PatchEmbed(_i(spec, "in_c"), _i(spec, "out_c"), _i(spec, "kernel"),
                      _i(spec, "out_h") * _i(spec, "out_w") + 1)


@register_builder("attention", input_shape=_tokens_in)
def _build_attention(spec: Mapping[str, Any], batch: int) -> nn.Module:
    return Attention(_i(spec, "in_c"), _i(spec, "mid"), int(spec.get("heads", 0)))


@register_builder("mlp", input_shape=_tokens_in)
def _build_mlp(spec: Mapping[str, Any], batch: int) -> nn.Module:
    if str(spec.get("act", "gelu")) not in ("gelu", "none"):
        raise ValueError(f"a transformer MLP runs GELU, not {spec['act']!r}")
    return Mlp(_i(spec, "in_c"), _i(spec, "mid"))


@register_builder("layernorm", input_shape=_tokens_in)
def _build_layernorm(spec: Mapping[str, Any], batch: int) -> nn.Module:
    return layer_norm(_i(spec, "in_c"))


@register_builder("spatial_reduction", input_shape=_tokens_in)
def _build_spatial_reduction(spec: Mapping[str, Any], batch: int) -> nn.Module:
    if (_i(spec, "kernel"), _i(spec, "stride")) != (3, 2):
        raise ValueError(f"a spatial reduction is a 3x3 stride-2 conv, not k={spec['kernel']} s={spec['stride']}")
    return SpatialReduction(_i(spec, "in_c"), _i(spec, "out_c"), _i(spec, "in_h"), _i(spec, "in_w"),
                            _i(spec, "out_h"), _i(spec, "out_w"), bool(int(spec["residual"])))


@register_builder("cls_head", input_shape=_tokens_in)
def _build_cls_head(spec: Mapping[str, Any], batch: int) -> nn.Module:
    return ClsHead(_i(spec, "in_c"), _i(spec, "out_c"))
