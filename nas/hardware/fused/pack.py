"""What every fused kernel's module needs: BN folding, the kernels' padded and panel-major weight layouts,
activation names and the conv checks; ``Unsupported`` is a block a kernel does not cover."""

from __future__ import annotations

import torch
from torch import nn

from supernets.static.oplib import Block, ConvBNAct

__all__ = ["Unsupported", "act_name", "fold_conv_bn", "pad8", "padded", "panels", "check_conv", "main_parts"]

_ACTS = {nn.Identity: "none", nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Hardswish: "h_swish", nn.Hardsigmoid: "h_sigmoid"}


class Unsupported(ValueError):
    """A block the fused kernel does not cover; the message says why."""


def act_name(module: nn.Module, where: str) -> str:
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


def pad8(n: int) -> int:
    return (n + 7) // 8 * 8


def padded(t: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    out = torch.zeros(shape, dtype=torch.float32)
    out[tuple(slice(0, s) for s in t.shape)] = t.float()
    return out.contiguous()


def panels(w: torch.Tensor) -> torch.Tensor:
    """A [K, N] GEMM operand (N a multiple of 8) in the kernel's panel-major order: column panels of 24
    (the last one 16 or 8 wide), each [K, width] contiguous; returned with shape [K, N]."""
    k, n = w.shape
    widths = [24] * (n // 24) + ([n % 24] if n % 24 else [])
    cols = torch.split(w, widths, dim=1)
    return torch.cat([c.contiguous().reshape(-1) for c in cols]).reshape(k, n)


def check_conv(m: nn.Module, where: str, *, kernels: tuple[int, ...], strides: tuple[int, ...] = (1,),
               depthwise: bool = False) -> nn.Conv2d:
    """The conv of a ``ConvBNAct`` a kernel can run: square, odd, 'same' zero padding, no dilation, a
    kernel size in ``kernels`` and a stride in ``strides``; dense unless ``depthwise``."""
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
    if depthwise and not (c.groups == c.in_channels == c.out_channels):
        raise Unsupported(f"{where}: not depthwise (groups {c.groups}, {c.in_channels}->{c.out_channels})")
    if not depthwise and c.groups != 1:
        raise Unsupported(f"{where}: a grouped conv (groups {c.groups})")
    if k[0] not in kernels:
        raise Unsupported(f"{where}: kernel {k[0]} not in {kernels}")
    if c.stride[0] not in strides:
        raise Unsupported(f"{where}: stride {c.stride[0]} not in {strides}")
    return c


def main_parts(block: nn.Module) -> list[nn.Module]:
    """The modules on ``block``'s main path; ``Unsupported`` for anything but a ``Block``."""
    if not isinstance(block, Block):
        raise Unsupported(f"not a Block: {type(block).__name__}")
    return list(block.main.children())
