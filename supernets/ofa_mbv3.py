"""once-for-all's OFA-MobileNetV3 supernet: elastic kernel, expand ratio, depth and resolution."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from search_spaces import Arch
from search_spaces.ofa_mbv3 import OFAMobileNetV3Space

from ._base import ChannelSorting, ForeignWeights, Supernet, register_supernet
from .compat.ofa_mbv3 import load_ofa_state_dict, looks_like_ofa
from .ops.elastic_bn import copy_bn
from .ops.elastic_mbconv import ElasticMBConv
from .static import StaticNet, build_op
from .static.oplib import Block

__all__ = ["OFAMobileNetV3Supernet"]


class OFAMobileNetV3Supernet(ChannelSorting, ForeignWeights, Supernet):
    """Fixed stem, first block and head around 5 stages of up to 4 elastic inverted-residual blocks."""

    foreign_name = "once-for-all OFAMobileNetV3"

    def __init__(self, space: OFAMobileNetV3Space):
        super().__init__(space)
        macro = space.macro
        r = max(space.choice("r").options)
        ks, e = space.choice("ks").options, space.choice("e").options
        self.stem = build_op(macro.fixed_op(0, r).as_spec())[0]
        self.first_block = build_op(macro.fixed_op(1, r).as_spec())[0]
        self.blocks = nn.ModuleList()
        for pos in range(macro.n_blocks):
            spec = macro.block_spec(pos, max(ks), max(e), r)
            self.blocks.append(ElasticMBConv(spec.in_channels, spec.out_channels, ks, e, spec.stride, spec.act,
                                             spec.use_se))
        self.final_expand = build_op(macro.fixed_op(2, r).as_spec())[0]
        self.feature_mix = build_op(macro.fixed_op(4, r).as_spec())[0]
        classifier = macro.fixed_specs(r)[-1]
        self.dropout = nn.Dropout(classifier.dropout)
        self.classifier = nn.Linear(classifier.in_features, classifier.out_features)
        self.max_depth = macro.max_depth
        self.active_depth = [macro.max_depth] * macro.n_stages
        self.set_active(self.active_arch)

    def _apply_arch(self, arch: Arch) -> None:
        for block, k, e in zip(self.blocks, arch["ks"], arch["e"]):
            block.set_active(k, e)
        self.active_depth = list(arch["d"])

    def active_blocks(self) -> list[ElasticMBConv]:
        return [self.blocks[s * self.max_depth + i] for s, d in enumerate(self.active_depth) for i in range(d)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first_block(self.stem(x))
        for block in self.active_blocks():
            x = block(x)
        x = self.final_expand(x)
        x = self.feature_mix(x.mean((2, 3), keepdim=True))
        return self.classifier(self.dropout(torch.flatten(x, 1)))

    def _extract(self, arch: Arch) -> StaticNet:
        net = StaticNet(self.space.layers(arch), self.space.input_shape(arch))
        net.stem.load_state_dict(self.stem.state_dict())
        net.blocks[0].load_state_dict(self.first_block.state_dict())
        for target, block in zip(net.blocks[1:], self.active_blocks()):
            _copy_elastic_block(target, block)
        net.final_expand.load_state_dict(self.final_expand.state_dict())
        net.feature_mix.load_state_dict(self.feature_mix.state_dict())
        net.classifier.linear.load_state_dict(self.classifier.state_dict())
        return net

    def sort_channels(self, key: str, stage: int = 0) -> None:
        if key != "e":
            raise ValueError(f"{self.space.name} sorts the channels of its expand ratios (e), not {key!r}")
        for block in self.blocks:
            block.reorganize_channels(stage)

    @classmethod
    def recognizes(cls, state: Mapping) -> bool:
        return looks_like_ofa(state)

    def load_foreign(self, state: Mapping[str, torch.Tensor]) -> None:
        load_ofa_state_dict(self, state)


def _copy_elastic_block(target: Block, block: ElasticMBConv) -> None:
    w_expand, w_dw, se_rw, se_rb, se_ew, se_eb, w_project = block.active_weights()
    mid = w_dw.shape[0]
    main = target.main
    main.expand.conv.weight.copy_(w_expand)
    copy_bn(main.expand.bn, block.expand_bn, mid)
    main.depthwise.conv.weight.copy_(w_dw)
    copy_bn(main.depthwise.bn, block.depthwise_bn, mid)
    if se_rw is not None:
        main.se.reduce.weight.copy_(se_rw)
        main.se.reduce.bias.copy_(se_rb)
        main.se.expand.weight.copy_(se_ew)
        main.se.expand.bias.copy_(se_eb)
    main.project.conv.weight.copy_(w_project)
    copy_bn(main.project.bn, block.project_bn, block.out_ch)


@register_supernet("ofa-mbv3")
@register_supernet("ofa-mbv3-w1.2")
@register_supernet("ofa-mbv3-cifar")
@register_supernet("ofa-mbv3-cifar-small")
def _ofa_mbv3(space: OFAMobileNetV3Space) -> OFAMobileNetV3Supernet:
    return OFAMobileNetV3Supernet(space)
