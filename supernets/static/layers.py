"""Static (non-elastic) layers of extracted subnets. All TorchScript-compatible."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["make_activation", "ConvBNAct", "SqueezeExcite", "MBConv", "Classifier"]


def make_activation(name: str | None) -> nn.Module:
    if name in (None, "none"):
        return nn.Identity()
    if name == "relu":
        return nn.ReLU()
    if name == "relu6":
        return nn.ReLU6()
    if name == "h_swish":
        return nn.Hardswish()
    if name == "h_sigmoid":
        return nn.Hardsigmoid()
    raise ValueError(f"unknown activation {name!r}; known: relu, relu6, h_swish, h_sigmoid, none")


class ConvBNAct(nn.Module):
    """conv -> [BN] -> activation, with 'same' padding."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 1, stride: int = 1, groups: int = 1,
                 act: str | None = None, use_bn: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size, stride, kernel_size // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_ch) if use_bn else nn.Identity()
        self.act = make_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation as in MobileNetV3: mean -> 1x1 (ReLU) -> 1x1 -> h-sigmoid gate."""

    def __init__(self, channels: int, se_channels: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, se_channels, 1, bias=True)
        self.expand = nn.Conv2d(se_channels, channels, 1, bias=True)
        self.relu = nn.ReLU()
        self.gate = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.expand(self.relu(self.reduce(y))))


class MBConv(nn.Module):
    """Inverted residual: [1x1 expand] -> kxk depthwise -> [SE] -> 1x1 project [+ input]."""

    def __init__(self, in_ch: int, out_ch: int, mid_ch: int, kernel_size: int, stride: int, act: str,
                 use_se: bool, se_ch: int, residual: bool, expand: bool):
        super().__init__()
        self.expand = ConvBNAct(in_ch, mid_ch, 1, act=act) if expand else nn.Identity()
        self.depthwise = ConvBNAct(mid_ch, mid_ch, kernel_size, stride, groups=mid_ch, act=act)
        self.se = SqueezeExcite(mid_ch, se_ch) if use_se else nn.Identity()
        self.project = ConvBNAct(mid_ch, out_ch, 1, act=None)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.se(self.depthwise(self.expand(x))))
        if self.residual:
            y = y + x
        return y


class Classifier(nn.Module):
    def __init__(self, in_features: int, out_features: int, dropout: float = 0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(x))
