"""Fake (meta) implementations of the ``nas_fused`` ops, so ``torch.compile`` and ``torch.export``
can trace through them. Imported once the library is loaded."""

from __future__ import annotations

import torch


@torch.library.register_fake("nas_fused::inverted_residual")
def _inverted_residual_fake(x, w_expand, b_expand, w_dw, b_dw, se_w1, se_b1, se_w2, se_b2, w_proj, b_proj,
                            kernel: int, stride: int, act: str, post_act: str, residual: bool,
                            out_channels: int):
    torch._check(x.dim() == 4)
    n, _, h, w = x.shape
    return x.new_empty((n, out_channels, (h - 1) // stride + 1, (w - 1) // stride + 1))


@torch.library.register_fake("nas_fused::conv_block")
def _conv_block_fake(x, w1, b1, w2, b2, w3, b3, kernels: list[int], strides: list[int], acts: list[str],
                     shortcut: str, post_act: str, out_channels: int):
    torch._check(x.dim() == 4)
    n, _, h, w = x.shape
    for s in strides:  # odd kernels with 'same' padding
        h, w = (h - 1) // s + 1, (w - 1) // s + 1
    return x.new_empty((n, out_channels, h, w))
