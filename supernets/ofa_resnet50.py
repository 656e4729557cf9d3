"""once-for-all's OFA-ResNet50 supernet (``OFAResNets``): elastic depth, expand ratio, width and resolution."""

from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from search_spaces import Arch
from search_spaces.ofa_resnet50 import OFAResNet50Space

from ._base import ChannelSorting, ForeignWeights, Supernet, register_supernet
from .compat.ofa_resnet50 import load_ofa_resnet_state_dict, looks_like_ofa_resnet
from .ops.elastic_bn import copy_bn
from .ops.elastic_bottleneck import ElasticBottleneck
from .ops.elastic_convbn import ElasticConvBNAct, ElasticLinear
from .static import StaticNet
from .static.oplib import Block, ConvBNAct

__all__ = ["OFAResNet50Supernet"]


class OFAResNet50Supernet(ChannelSorting, ForeignWeights, Supernet):
    """Stem (3x3 s2, residual 3x3, 3x3), max pooling, four stages of elastic bottlenecks, classifier."""

    foreign_name = "once-for-all OFAResNets"

    def __init__(self, space: OFAResNet50Space):
        super().__init__(space)
        m = space.macro
        self.macro = m
        widths = range(len(m.width_mults))
        mid_max, out_max = max(m.stem_mid(w) for w in widths), max(m.stem_out(w) for w in widths)
        self.stem = ElasticConvBNAct(3, mid_max, 3, m.stem_stride)
        self.stem_block = ElasticConvBNAct(mid_max, mid_max, 3, 1)
        self.stem_out = ElasticConvBNAct(mid_max, out_max, 3, 1)
        self.blocks = nn.ModuleList()
        for block in range(m.n_blocks):
            stage, index = m.position(block)
            outs = [m.stage_width(stage, w) for w in widths]
            previous = [m.stem_out(w) for w in widths] if stage == 0 else [m.stage_width(stage - 1, w) for w in widths]
            first = index == 0
            self.blocks.append(ElasticBottleneck(previous if first else outs, outs, m.expand_ratios,
                                                 m.stage_strides[stage] if first else 1, downsample=first))
        self.classifier = ElasticLinear(max(m.stage_width(m.n_stages - 1, w) for w in widths), m.n_classes)
        self.keep_stem_block, self.active_depth = True, [m.max_extra_depth] * m.n_stages
        self.set_active(self.active_arch)

    def _apply_arch(self, arch: Arch) -> None:
        m, d, e, w = self.macro, arch["d"], arch["e"], arch["w"]
        self.keep_stem_block = d[0] == m.max_extra_depth
        self.stem.active_out = self.stem_block.active_out = m.stem_mid(w[0])
        self.stem_out.active_out = m.stem_out(w[1])
        self.active_depth = list(d[1:])
        for block, (module, ratio) in enumerate(zip(self.blocks, e)):
            stage, _ = m.position(block)
            module.set_active(m.stage_width(stage, w[2 + stage]), ratio)

    def active_blocks(self) -> list[ElasticBottleneck]:
        m = self.macro
        return [self.blocks[b] for stage in range(m.n_stages)
                for b in m.blocks_of(stage)[:m.base_depths[stage] + self.active_depth[stage]]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        if self.keep_stem_block:
            x = x + self.stem_block(x)
        x = self.stem_out(x)
        if self.macro.max_pool:
            x = F.max_pool2d(x, 3, 2, 1)
        for block in self.active_blocks():
            x = block(x)
        return self.classifier(x.mean((2, 3)))

    def _extract(self, arch: Arch) -> StaticNet:
        net = StaticNet(self.space.layers(arch), self.space.input_shape(arch))
        _copy_conv(net.stem, self.stem, 3)
        c = self.stem.active_out
        if self.keep_stem_block:
            _copy_conv(net.stem_block, self.stem_block, c)
        _copy_conv(net.stem_out, self.stem_out, c)
        c = self.stem_out.active_out
        for target, block in zip(net.blocks, self.active_blocks()):
            _copy_block(target, block, c)
            c = block.active_out
        net.classifier.linear.weight.copy_(self.classifier.linear.weight[:, :c])
        net.classifier.linear.bias.copy_(self.classifier.linear.bias)
        return net

    def sort_channels(self, key: str, stage: int = 0) -> None:
        if key != "e":
            raise ValueError(f"{self.space.name} sorts the channels of its expand ratios (e), not {key!r}")
        for block in self.blocks:
            block.sort_channels(stage)

    @classmethod
    def recognizes(cls, state: Mapping) -> bool:
        return looks_like_ofa_resnet(state)

    def load_foreign(self, state: Mapping[str, torch.Tensor]) -> None:
        load_ofa_resnet_state_dict(self, state)


def _copy_conv(target: ConvBNAct, source: ElasticConvBNAct, c_in: int) -> None:
    c = source.active_out
    target.conv.weight.copy_(source.conv.active_weight(c, c_in))
    copy_bn(target.bn, source.bn, c)


def _copy_block(target: Block, block: ElasticBottleneck, c_in: int) -> None:
    mid = block.mid_channels(block.active_out, block.active_expand)
    _copy_conv(target.main.conv1, block.conv1, c_in)
    _copy_conv(target.main.conv2, block.conv2, mid)
    _copy_conv(target.main.conv3, block.conv3, mid)
    if block.downsample is not None:
        _copy_conv(target.shortcut.conv, block.downsample, c_in)


@register_supernet("ofa-resnet50")
@register_supernet("ofa-resnet50-cifar")
def _ofa_resnet50(space: OFAResNet50Space) -> OFAResNet50Supernet:
    return OFAResNet50Supernet(space)
