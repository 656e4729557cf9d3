"""``fuse_blocks``: replace the inverted-residual blocks of a static subnet by one fused C++ kernel each.

A static subnet (``supernet.extract(arch)``, ``supernets/static``) is plain modules; an OFA-MobileNetV3
block is ``Block(main=[expand 1x1 ConvBNAct] -> kxk depthwise ConvBNAct -> [SqueezeExcite] -> 1x1
project ConvBNAct, identity shortcut)``. ``fuse_blocks`` folds each such block's BatchNorms (their
running statistics: inference semantics) into its conv weights, packs them for the kernel and swaps
in a ``FusedInvertedResidual`` that calls ``torch.ops.nas_fused.inverted_residual``. A block it does not
cover keeps its original modules, and the report says which and why, so fusing never changes a result.

Measured (``benchmarks/fused_blocks.py``, 1 thread, on a shared 2-core Xeon with load ~9, so +-15%):
the fused block beats the per-layer path (BN folded, oneDNN) where intermediates are large, i.e. the
depthwise-heavy early stages: 2.1x / 4.1x for the 112-px stride-2 e6 block (batch 1 @224 / batch 8
@160), 1.5x / 1.6x for 56-px e6 k3, 1.2x / 1.2x for 56-px e4 k7, 1.2x / 1.0x for the 28-px SE block.
At 14 px and below (wide channels, compute-bound) it is 0.6x-1.3x: there the intermediates fit in
L2 anyway, and this CPU gives oneDNN AVX-512 while the kernel is built for AVX2.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field

import torch
from torch import nn

from supernets.static.oplib import Block, ConvBNAct, SqueezeExcite

from . import _ext

__all__ = ["FusedInvertedResidual", "FusionReport", "fuse_blocks", "fold_conv_bn", "Unsupported"]

log = logging.getLogger(__name__)

_ACTS = {nn.Identity: "none", nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Hardswish: "h_swish", nn.Hardsigmoid: "h_sigmoid"}
KERNELS = (3, 5, 7)
STRIDES = (1, 2)


class Unsupported(ValueError):
    """A block the fused kernel does not cover; the message says why."""


@dataclass
class FusionReport:
    fused: list[str] = field(default_factory=list)
    fallback: dict[str, str] = field(default_factory=dict)  # block name -> why it was kept

    def __str__(self) -> str:
        lines = [f"fused {len(self.fused)} block(s), kept {len(self.fallback)}"]
        lines += [f"  kept {name}: {why}" for name, why in self.fallback.items()]
        return "\n".join(lines)


def _act_name(module: nn.Module, where: str) -> str:
    name = _ACTS.get(type(module))
    if name is None:
        raise Unsupported(f"{where}: activation {type(module).__name__} is not one of {sorted(set(_ACTS.values()))}")
    return name


def fold_conv_bn(conv: nn.Conv2d, bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Conv weight and bias with an inference-mode BatchNorm (running statistics) folded in (float64)."""
    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    if isinstance(bn, nn.Identity):
        return w, b
    if not isinstance(bn, nn.BatchNorm2d) or bn.running_mean is None or bn.running_var is None:
        raise Unsupported(f"norm {type(bn).__name__} without running statistics")
    scale = 1.0 / torch.sqrt(bn.running_var.detach().double() + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.detach().double()
    shift = -bn.running_mean.detach().double() * scale
    if bn.bias is not None:
        shift = shift + bn.bias.detach().double()
    return w * scale.view(-1, 1, 1, 1), b * scale + shift


def _pad8(n: int) -> int:
    return (n + 7) // 8 * 8


def _padded(t: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    out = torch.zeros(shape, dtype=torch.float32)
    out[tuple(slice(0, s) for s in t.shape)] = t.float()
    return out.contiguous()


def _panels(w: torch.Tensor) -> torch.Tensor:
    """A [K, N] GEMM operand (N a multiple of 8) in the kernel's panel-major order: column panels of 24
    (the last one 16 or 8 wide), each [K, width] contiguous; returned with shape [K, N]."""
    k, n = w.shape
    widths = [24] * (n // 24) + ([n % 24] if n % 24 else [])
    cols = torch.split(w, widths, dim=1)
    return torch.cat([c.contiguous().reshape(-1) for c in cols]).reshape(k, n)


def _check_conv(m: nn.Module, where: str, *, kernel: int | None = None, depthwise: bool = False) -> nn.Conv2d:
    if not isinstance(m, ConvBNAct):
        raise Unsupported(f"{where}: expected ConvBNAct, got {type(m).__name__}")
    if m.residual or m.act_after_add or m.external:
        raise Unsupported(f"{where}: a ConvBNAct with its own residual add")
    c = m.conv
    k = c.kernel_size
    if k[0] != k[1] or c.stride[0] != c.stride[1]:
        raise Unsupported(f"{where}: non-square kernel {k} or stride {c.stride}")
    if c.dilation != (1, 1) or c.padding != (k[0] // 2, k[0] // 2) or c.padding_mode != "zeros" or k[0] % 2 == 0:
        raise Unsupported(f"{where}: only odd kernels with 'same' zero padding and no dilation")
    if kernel is not None and k[0] != kernel:
        raise Unsupported(f"{where}: kernel {k[0]}x{k[0]}, expected {kernel}x{kernel}")
    if depthwise:
        if not (c.groups == c.in_channels == c.out_channels):
            raise Unsupported(f"{where}: not depthwise (groups {c.groups}, {c.in_channels}->{c.out_channels})")
        if k[0] not in KERNELS:
            raise Unsupported(f"{where}: depthwise kernel {k[0]} not in {KERNELS}")
        if c.stride[0] not in STRIDES:
            raise Unsupported(f"{where}: stride {c.stride[0]} not in {STRIDES}")
    else:
        if c.groups != 1 or c.stride != (1, 1):
            raise Unsupported(f"{where}: a 1x1 conv with groups {c.groups} / stride {c.stride}")
    return c


class FusedInvertedResidual(nn.Module):
    """One inverted-residual block as a single ``nas_fused::inverted_residual`` call (inference only:
    BatchNorm running statistics are folded into the weights, held as buffers)."""

    def __init__(self, block: Block):
        super().__init__()
        _ext.load()  # the op must exist before forward; RuntimeError (one line) when it cannot be built
        if not isinstance(block, Block):
            raise Unsupported(f"not a Block: {type(block).__name__}")
        parts = list(block.main.children())
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
        dconv = _check_conv(dw, "depthwise", depthwise=True)
        pconv = _check_conv(project, "project", kernel=1)
        act = _act_name(dw.act, "depthwise")
        if _act_name(project.act, "project") != "none":
            raise Unsupported("project conv has an activation")
        post = _act_name(block.post, "post activation")
        cm, cout = dconv.out_channels, pconv.out_channels
        if pconv.in_channels != cm:
            raise Unsupported(f"project takes {pconv.in_channels} channels, depthwise gives {cm}")
        cmp_, cp = _pad8(cm), _pad8(cout)
        k, s = dconv.kernel_size[0], dconv.stride[0]
        if expand is not None:
            econv = _check_conv(expand, "expand", kernel=1)
            if _act_name(expand.act, "expand") != act:
                raise Unsupported(f"expand activation {_act_name(expand.act, 'expand')} differs from depthwise {act}")
            if econv.out_channels != cm:
                raise Unsupported(f"expand gives {econv.out_channels} channels, depthwise takes {cm}")
            cin = econv.in_channels
            we, be = fold_conv_bn(econv, expand.bn)
            w_expand = _panels(_padded(we.reshape(cm, cin).t(), (cin, cmp_)))
            b_expand = _padded(be, (cmp_,))
        else:
            cin = cm
            w_expand = b_expand = None
        if block.residual:
            if len(block.shortcut) != 0:
                raise Unsupported("residual with a non-identity shortcut")
            if s != 1 or cin != cout:
                raise Unsupported(f"identity residual needs stride 1 and in == out ({cin} -> {cout}, stride {s})")
        wd, bd = fold_conv_bn(dconv, dw.bn)
        wp, bp = fold_conv_bn(pconv, project.bn)
        se_bufs: list[torch.Tensor | None] = [None] * 4
        if se is not None:
            if not (isinstance(se.relu, nn.ReLU) and isinstance(se.gate, nn.Hardsigmoid)):
                raise Unsupported("SE with activations other than ReLU / h_sigmoid")
            red, exp = se.reduce, se.expand
            if red.kernel_size != (1, 1) or exp.kernel_size != (1, 1) or red.groups != 1 or exp.groups != 1 \
                    or red.in_channels != cm or exp.out_channels != cm or red.bias is None or exp.bias is None:
                raise Unsupported("SE convs are not 1x1 with bias over the depthwise channels")
            sc = red.out_channels
            se_bufs = [_padded(red.weight.detach().reshape(sc, cm), (sc, cmp_)), red.bias.detach().float().clone(),
                       _padded(exp.weight.detach().reshape(cm, sc).t(), (sc, cmp_)),
                       _padded(exp.bias.detach(), (cmp_,))]
        self.kernel, self.stride, self.act, self.post_act = k, s, act, post
        self.residual, self.in_channels, self.out_channels, self.mid_channels = bool(block.residual), cin, cout, cm
        self.has_se = se is not None
        self.register_buffer("w_expand", w_expand)
        self.register_buffer("b_expand", b_expand)
        self.register_buffer("w_dw", _padded(wd.reshape(cm, k * k), (cmp_, k * k))
                             .reshape(cmp_ // 8, 8, k * k).transpose(1, 2).contiguous())
        self.register_buffer("b_dw", _padded(bd, (cmp_,)))
        for name, t in zip(("se_w1", "se_b1", "se_w2", "se_b2"), se_bufs):
            self.register_buffer(name, t)
        self.register_buffer("w_proj", _panels(_padded(wp.reshape(cout, cm).t(), (cmp_, cp))))
        self.register_buffer("b_proj", _padded(bp, (cp,)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.nas_fused.inverted_residual(
            x, self.w_expand, self.b_expand, self.w_dw, self.b_dw, self.se_w1, self.se_b1, self.se_w2, self.se_b2,
            self.w_proj, self.b_proj, self.kernel, self.stride, self.act, self.post_act, self.residual,
            self.out_channels)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}->{self.mid_channels}->{self.out_channels}, k={self.kernel}, s={self.stride}, "
                f"act={self.act}, se={self.has_se}, residual={self.residual}")


def fuse_blocks(net: nn.Module) -> nn.Module:
    """An eval-mode copy of ``net`` with every inverted-residual ``Block`` it covers fused (see module
    doc); ``net`` itself is untouched. The copy's ``fusion_report`` (a ``FusionReport``) lists the fused
    blocks and, for each block kept as it was, why. Without the compiled kernels nothing is fused and
    every block's reason is the one-line build error."""
    out = copy.deepcopy(net).eval()
    report = FusionReport()
    blocks = [(name, m) for name, m in out.named_modules() if isinstance(m, Block)]
    ext_error = _ext.error()
    for name, block in blocks:
        if ext_error is not None:
            report.fallback[name] = f"fused kernels unavailable: {ext_error}"
            continue
        try:
            fused = FusedInvertedResidual(block)
        except Unsupported as exc:
            report.fallback[name] = str(exc)
            continue
        parent_name, _, child = name.rpartition(".")
        parent = out.get_submodule(parent_name) if parent_name else out
        setattr(parent, child, fused)
        report.fused.append(name)
    if report.fallback:
        log.info("fuse_blocks: %s", report)
    out.fusion_report = report
    return out
