"""``FusedInvertedResidual``: an OFA-MobileNetV3 inverted-residual block as one ``nas_fused::inverted_residual``
call.

An OFA-MobileNetV3 block of a static subnet is ``Block(main=[expand 1x1 ConvBNAct] -> kxk depthwise
ConvBNAct -> [SqueezeExcite] -> 1x1 project ConvBNAct, identity shortcut)``; its BatchNorms (running
statistics: inference semantics) are folded into the conv weights, which are packed for the kernel
(``csrc/inverted_residual.cpp``).

Measured (``benchmarks/fused_blocks.py``, 1 thread, AVX2 EPYC at load ~3): the fused block beats the
per-layer path (BN folded, oneDNN) most where intermediates are large, i.e. the depthwise-heavy early
stages: 5.0x / 3.2x for the 112-px stride-2 e6 block (batch 1 @224 / batch 8 @160), 3.6x / 2.4x for 56-px
e6 k3; 1.0x-2.3x at 14 px and below, where the intermediates fit in L2 anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from supernets.static.oplib import Block, ConvBNAct, SqueezeExcite

from . import _ext
from .pack import Unsupported, act_name, check_conv, fold_conv_bn, main_parts, pad8, padded, panels

__all__ = ["FusedInvertedResidual", "InvertedResidualParts", "parse_inverted_residual", "KERNELS", "STRIDES"]

KERNELS = (3, 5, 7)
STRIDES = (1, 2)


@dataclass
class InvertedResidualParts:
    """An inverted-residual block read and checked once, its BNs folded (float64), for either kernel."""

    kernel: int
    stride: int
    act: str
    post: str
    residual: bool
    cin: int
    cm: int
    cout: int
    expand: tuple[torch.Tensor, torch.Tensor] | None  # weight [cm, cin, 1, 1], bias
    depthwise: tuple[torch.Tensor, torch.Tensor]       # weight [cm, 1, k, k], bias
    project: tuple[torch.Tensor, torch.Tensor]         # weight [cout, cm, 1, 1], bias
    se: SqueezeExcite | None


def parse_inverted_residual(block: nn.Module) -> InvertedResidualParts:
    """``Block(main=[expand 1x1] -> kxk depthwise -> [SE] -> 1x1 project, identity shortcut)`` as its parts;
    ``Unsupported`` (why) for anything else."""
    parts = main_parts(block)
    if not 2 <= len(parts) <= 4:
        raise Unsupported(f"main path has {len(parts)} parts; an inverted residual has 2 to 4")
    expand = se = None
    if isinstance(parts[0], ConvBNAct) and parts[0].conv.groups == 1 and len(parts) >= 3:
        expand, parts = parts[0], parts[1:]
    dw, parts = parts[0], parts[1:]
    if len(parts) == 2:
        se, parts = parts[0], parts[1:]
        if not isinstance(se, SqueezeExcite):
            raise Unsupported(f"expected SqueezeExcite after the depthwise conv, got {type(se).__name__}")
    if len(parts) != 1:
        raise Unsupported("main path is not [expand] -> depthwise -> [SE] -> project")
    project = parts[0]
    dconv = check_conv(dw, "depthwise", kernels=KERNELS, strides=STRIDES, depthwise=True)
    pconv = check_conv(project, "project", kernels=(1,))
    act = act_name(dw.act, "depthwise")
    if act_name(project.act, "project") != "none":
        raise Unsupported("project conv has an activation")
    cm, cout = dconv.out_channels, pconv.out_channels
    if pconv.in_channels != cm:
        raise Unsupported(f"project takes {pconv.in_channels} channels, depthwise gives {cm}")
    k, s = dconv.kernel_size[0], dconv.stride[0]
    folded_expand = None
    cin = cm
    if expand is not None:
        econv = check_conv(expand, "expand", kernels=(1,))
        if act_name(expand.act, "expand") != act:
            raise Unsupported(f"expand activation {act_name(expand.act, 'expand')} differs from depthwise {act}")
        if econv.out_channels != cm:
            raise Unsupported(f"expand gives {econv.out_channels} channels, depthwise takes {cm}")
        cin = econv.in_channels
        folded_expand = fold_conv_bn(econv, expand.bn)
    if block.residual:
        if len(block.shortcut) != 0:
            raise Unsupported("residual with a non-identity shortcut")
        if s != 1 or cin != cout:
            raise Unsupported(f"identity residual needs stride 1 and in == out ({cin} -> {cout}, stride {s})")
    if se is not None:
        if not (isinstance(se.relu, nn.ReLU) and isinstance(se.gate, nn.Hardsigmoid)):
            raise Unsupported("SE with activations other than ReLU / h_sigmoid")
        red, exp = se.reduce, se.expand
        if red.kernel_size != (1, 1) or exp.kernel_size != (1, 1) or red.groups != 1 or exp.groups != 1 \
                or red.in_channels != cm or exp.out_channels != cm or red.bias is None or exp.bias is None:
            raise Unsupported("SE convs are not 1x1 with bias over the depthwise channels")
    return InvertedResidualParts(k, s, act, act_name(block.post, "post activation"), bool(block.residual), cin, cm,
                                 cout, folded_expand, fold_conv_bn(dconv, dw.bn), fold_conv_bn(pconv, project.bn), se)


class FusedInvertedResidual(nn.Module):
    """One inverted-residual block as a single ``nas_fused::inverted_residual`` call (inference only:
    BatchNorm running statistics are folded into the weights, held as buffers)."""

    def __init__(self, block: Block):
        super().__init__()
        _ext.load()  # the op must exist before forward; RuntimeError (one line) when it cannot be built
        b = parse_inverted_residual(block)
        cin, cm, cout, k = b.cin, b.cm, b.cout, b.kernel
        cmp_, cp = pad8(cm), pad8(cout)
        w_expand = b_expand = None
        if b.expand is not None:
            we, be = b.expand
            w_expand = panels(padded(we.reshape(cm, cin).t(), (cin, cmp_)))
            b_expand = padded(be, (cmp_,))
        wd, bd = b.depthwise
        wp, bp = b.project
        se_bufs: list[torch.Tensor | None] = [None] * 4
        if b.se is not None:
            red, exp = b.se.reduce, b.se.expand
            sc = red.out_channels
            se_bufs = [padded(red.weight.detach().reshape(sc, cm), (sc, cmp_)), red.bias.detach().float().clone(),
                       padded(exp.weight.detach().reshape(cm, sc).t(), (sc, cmp_)),
                       padded(exp.bias.detach(), (cmp_,))]
        self.kernel, self.stride, self.act, self.post_act = k, b.stride, b.act, b.post
        self.residual, self.in_channels, self.out_channels, self.mid_channels = b.residual, cin, cout, cm
        self.has_se = b.se is not None
        self.register_buffer("w_expand", w_expand)
        self.register_buffer("b_expand", b_expand)
        self.register_buffer("w_dw", padded(wd.reshape(cm, k * k), (cmp_, k * k))
                             .reshape(cmp_ // 8, 8, k * k).transpose(1, 2).contiguous())
        self.register_buffer("b_dw", padded(bd, (cmp_,)))
        for name, t in zip(("se_w1", "se_b1", "se_w2", "se_b2"), se_bufs):
            self.register_buffer(name, t)
        self.register_buffer("w_proj", panels(padded(wp.reshape(cout, cm).t(), (cmp_, cp))))
        self.register_buffer("b_proj", padded(bp, (cp,)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.nas_fused.inverted_residual(
            x, self.w_expand, self.b_expand, self.w_dw, self.b_dw, self.se_w1, self.se_b1, self.se_w2, self.se_b2,
            self.w_proj, self.b_proj, self.kernel, self.stride, self.act, self.post_act, self.residual,
            self.out_channels)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}->{self.mid_channels}->{self.out_channels}, k={self.kernel}, s={self.stride}, "
                f"act={self.act}, se={self.has_se}, residual={self.residual}")
