"""once-for-all's elastic ResNet bottleneck (``DynamicResNetBottleneckBlock``): elastic output width and
expand ratio, with a ResNet-D shortcut (average pooling, then a 1x1 conv) where the shape changes."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from search_spaces.mobilenet_v3_layout import make_divisible

from .channel_order import importance_order
from .elastic_convbn import ElasticConvBNAct

__all__ = ["ElasticBottleneck"]


class ElasticBottleneck(nn.Module):
    """1x1 (in -> mid) -> 3x3 stride s (mid -> mid) -> 1x1 (mid -> out) [+ shortcut], then ReLU.

    The inner width is ``make_divisible(round(out * e), 8)`` of the *active* output width, as in
    once-for-all; the shortcut is the identity where the block keeps its shape (any width), else
    ``downsample``: ``avg_pool(stride)`` and a 1x1 conv with BN.
    """

    def __init__(self, in_widths: Sequence[int], out_widths: Sequence[int], expand_ratios: Sequence[float],
                 stride: int, downsample: bool):
        super().__init__()
        self.expand_ratios = tuple(sorted(expand_ratios))
        self.max_out, self.stride = max(out_widths), stride
        max_mid = make_divisible(round(self.max_out * self.expand_ratios[-1]), 8)
        self.conv1 = ElasticConvBNAct(max(in_widths), max_mid, 1)
        self.conv2 = ElasticConvBNAct(max_mid, max_mid, 3, stride)
        self.conv3 = ElasticConvBNAct(max_mid, self.max_out, 1, act="none")
        self.downsample = ElasticConvBNAct(max(in_widths), self.max_out, 1, act="none") if downsample else None
        self.active_out, self.active_expand = self.max_out, self.expand_ratios[-1]
        self.set_active(self.max_out, self.expand_ratios[-1])

    def mid_channels(self, out: int, expand_ratio: float) -> int:
        return make_divisible(round(out * expand_ratio), 8)

    def set_active(self, out: int, expand_ratio: float) -> None:
        self.active_out, self.active_expand = out, expand_ratio
        mid = self.mid_channels(out, expand_ratio)
        self.conv1.active_out = self.conv2.active_out = mid
        self.conv3.active_out = out
        if self.downsample is not None:
            self.downsample.active_out = out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is None:
            residual = x
        else:
            pooled = F.avg_pool2d(x, self.stride, self.stride, 0, ceil_mode=True) if self.stride > 1 else x
            residual = self.downsample(pooled)
        return F.relu(self.conv3(self.conv2(self.conv1(x))) + residual)

    @torch.no_grad()
    def sort_channels(self, stage: int = 0) -> None:
        """Sort the inner channels by importance, as once-for-all's ``re_organize_middle_weights``: conv2's
        outputs by the L1 norm of conv3's weights over them, then conv1's outputs by conv2's; ``stage``
        k > 0 keeps the channel groups of the k largest expand ratios apart."""
        widths = [self.mid_channels(self.max_out, e) for e in sorted(self.expand_ratios, reverse=True)]
        for consumer, producer in ((self.conv3, self.conv2), (self.conv2, self.conv1)):
            order = importance_order(consumer.conv.weight.abs().sum(dim=(0, 2, 3)), widths, stage)
            consumer.conv.weight.copy_(consumer.conv.weight[:, order])
            producer.conv.weight.copy_(producer.conv.weight[order])
            for t in (producer.bn.weight, producer.bn.bias, producer.bn.running_mean, producer.bn.running_var):
                t.copy_(t[order])
