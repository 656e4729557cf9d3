"""``FusedConvBlock``: a ResNet block of dense convolutions as one ``nas_fused::conv_block`` call.

Covered: ``Block(main=[2 or 3 dense ConvBNAct, odd kernels 1-7, stride 1 or 2], shortcut, post act)`` with
the shortcut empty (identity), a 1x1 ``ConvBNAct`` (any stride), or ``AvgPool2d(s, s)`` and a 1x1
``ConvBNAct`` (once-for-all's ResNet downsampling), i.e. ResNet20's basic blocks (3x3 -> 3x3) and
OFA-ResNet50's bottlenecks (1x1 -> 3x3 -> 1x1). BatchNorms (running statistics) are folded into the
convs; the shortcut conv's weights are appended to the last conv's, so the shortcut is one more part of
that conv's GEMM (``csrc/conv_block.cpp``).
"""

from __future__ import annotations

import torch
from torch import nn

from supernets.static.oplib import Block, ConvBNAct

from . import _ext
from .pack import Unsupported, act_name, check_conv, fold_conv_bn, main_parts, pad8, padded, panels

__all__ = ["FusedConvBlock", "KERNELS", "STRIDES"]

KERNELS = (1, 3, 5, 7)
STRIDES = (1, 2)


def _conv_rows(w: torch.Tensor, cin_p: int, cout_p: int) -> torch.Tensor:
    """A [Cout, Cin, k, k] weight as the kernel's GEMM operand rows [(ky, kx, c_in), Cout_p]."""
    cout, cin, k, _ = w.shape
    rows = w.permute(2, 3, 1, 0)  # ky, kx, c_in, c_out
    return padded(rows, (k, k, cin_p, cout_p)).reshape(k * k * cin_p, cout_p)


def _pair(v) -> tuple[int, int]:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _shortcut(block: Block, cin: int, cout: int, stride: int) -> tuple[str, ConvBNAct | None]:
    """The shortcut's kind for the kernel (none, identity, conv, avgpool_conv) and its conv, if any."""
    if not block.residual:
        return "none", None
    parts = list(block.shortcut.children())
    if not parts:
        if stride != 1 or cin != cout:
            raise Unsupported(f"identity shortcut needs stride 1 and in == out ({cin} -> {cout}, stride {stride})")
        return "identity", None
    pool = None
    if len(parts) == 2:
        pool, parts = parts[0], parts[1:]
        if not isinstance(pool, nn.AvgPool2d):
            raise Unsupported(f"shortcut: expected AvgPool2d before its conv, got {type(pool).__name__}")
        # ceil_mode or not: where they differ (odd maps) only ceil_mode matches the strided main path
        window = (_pair(pool.kernel_size), _pair(pool.stride), _pair(pool.padding))
        if window != ((stride, stride), (stride, stride), (0, 0)) or pool.divisor_override is not None:
            raise Unsupported(f"shortcut: average pooling {pool.kernel_size}/{pool.stride} with padding "
                              f"{pool.padding}, expected {stride}x{stride} windows of stride {stride}")
    if len(parts) != 1:
        raise Unsupported(f"shortcut has {len(block.shortcut)} parts; covered: none, a 1x1 conv, or avgpool + 1x1 conv")
    conv = check_conv(parts[0], "shortcut", kernels=(1,), strides=(1,) if pool is not None else (stride,))
    if act_name(parts[0].act, "shortcut") != "none":
        raise Unsupported("shortcut conv has an activation")
    if conv.in_channels != cin or conv.out_channels != cout:
        raise Unsupported(f"shortcut maps {conv.in_channels} -> {conv.out_channels}, the block {cin} -> {cout}")
    return ("avgpool_conv" if pool is not None else "conv"), parts[0]


class FusedConvBlock(nn.Module):
    """One ResNet basic or bottleneck block as a single ``nas_fused::conv_block`` call (inference only:
    BatchNorm running statistics are folded into the weights, held as buffers)."""

    def __init__(self, block: Block):
        super().__init__()
        _ext.load()  # the op must exist before forward; RuntimeError (one line) when it cannot be built
        parts = main_parts(block)
        if len(parts) not in (2, 3):
            raise Unsupported(f"main path has {len(parts)} convs; a basic block has 2, a bottleneck 3")
        convs = [check_conv(p, f"conv{i + 1}", kernels=KERNELS, strides=STRIDES) for i, p in enumerate(parts)]
        acts = [act_name(p.act, f"conv{i + 1}") for i, p in enumerate(parts)]
        for i in range(1, len(convs)):
            if convs[i].in_channels != convs[i - 1].out_channels:
                raise Unsupported(f"conv{i + 1} takes {convs[i].in_channels} channels, conv{i} gives "
                                  f"{convs[i - 1].out_channels}")
        cin, cout = convs[0].in_channels, convs[-1].out_channels
        stride = 1
        for c in convs:
            stride *= c.stride[0]
        kind, short = _shortcut(block, cin, cout, stride)
        if short is not None and acts[-1] != "none":
            raise Unsupported(f"conv{len(convs)} has an activation ({acts[-1]}) before a shortcut conv's add")
        post = act_name(block.post, "post activation")
        weights, biases = [], []
        cin_p = pad8(cin)
        for i, (part, conv) in enumerate(zip(parts, convs)):
            w, b = fold_conv_bn(conv, part.bn)
            cout_p = pad8(conv.out_channels)
            rows = _conv_rows(w, cin_p, cout_p)
            bias = padded(b, (cout_p,))
            if i == len(parts) - 1 and short is not None:
                ws, bs = fold_conv_bn(short.conv, short.bn)
                rows = torch.cat([rows, padded(ws.reshape(cout, cin).t(), (pad8(cin), cout_p))])
                bias = bias + padded(bs, (cout_p,))
            weights.append(panels(rows.float()))
            biases.append(bias.float().contiguous())
            cin_p = cout_p
        if len(weights) == 2:
            weights.append(None)
            biases.append(None)
        for i, (w, b) in enumerate(zip(weights, biases)):
            self.register_buffer(f"w{i + 1}", w)
            self.register_buffer(f"b{i + 1}", b)
        self.kernels = [c.kernel_size[0] for c in convs]
        self.strides = [c.stride[0] for c in convs]
        self.acts = acts
        self.shortcut, self.post_act = kind, post
        self.in_channels, self.out_channels = cin, cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.nas_fused.conv_block(x, self.w1, self.b1, self.w2, self.b2, self.w3, self.b3, self.kernels,
                                              self.strides, self.acts, self.shortcut, self.post_act,
                                              self.out_channels)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}->{self.out_channels}, kernels={self.kernels}, strides={self.strides}, "
                f"acts={self.acts}, shortcut={self.shortcut}, post={self.post_act}")
