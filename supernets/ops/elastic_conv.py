"""Elastic convolutions: the active subnet uses a prefix of the channels and a (transformed) kernel."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ElasticPointwiseConv", "ElasticDepthwiseConv"]


class ElasticPointwiseConv(nn.Module):
    """A 1x1 conv whose active in/out channels are a prefix of the full weight (importance-sorted)."""

    def __init__(self, max_in: int, max_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(max_out, max_in, 1, 1))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")

    def active_weight(self, out_ch: int, in_ch: int) -> torch.Tensor:
        return self.weight[:out_ch, :in_ch]


class ElasticDepthwiseConv(nn.Module):
    """once-for-all's elastic kernel: a smaller kernel is the centre crop of the next larger one,
    passed through a learned transformation matrix (7x7 -> 5x5 -> 3x3), shared across channels."""

    def __init__(self, max_channels: int, kernel_sizes: tuple[int, ...]):
        super().__init__()
        self.kernel_sizes = tuple(sorted(kernel_sizes))
        self.max_kernel = self.kernel_sizes[-1]
        self.weight = nn.Parameter(torch.empty(max_channels, 1, self.max_kernel, self.max_kernel))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")
        # "7to5" maps a cropped 7x7 kernel's 5x5 centre to the 5x5 kernel (identity at start)
        self.kernel_transforms = nn.ParameterDict({
            f"{big}to{small}": nn.Parameter(torch.eye(small * small))
            for small, big in zip(self.kernel_sizes[:-1], self.kernel_sizes[1:])
        })

    def active_weight(self, channels: int, kernel_size: int) -> torch.Tensor:
        w = self.weight[:channels]
        size = self.max_kernel
        for src, dst in zip(reversed(self.kernel_sizes[1:]), reversed(self.kernel_sizes[:-1])):
            if src <= kernel_size:
                break
            start = (src - dst) // 2
            crop = w[:, :, start:start + dst, start:start + dst].reshape(-1, dst * dst)
            w = (crop @ self.kernel_transforms[f"{src}to{dst}"].t()).reshape(channels, 1, dst, dst)
            size = dst
        if size != kernel_size:
            raise ValueError(f"kernel size {kernel_size} is not one of {self.kernel_sizes}")
        return w


def fan_in_uniform_(weight: torch.Tensor, bias: torch.Tensor) -> None:
    """PyTorch's default Conv2d init, for layers that hold raw parameters."""
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    fan_in = weight[0].numel()
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
    nn.init.uniform_(bias, -bound, bound)
