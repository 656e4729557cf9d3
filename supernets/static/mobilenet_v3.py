"""A static MobileNetV3 built from a layout: what ``extract`` returns and what gets exported."""

from __future__ import annotations

import torch
from torch import nn

from search_spaces.mobilenet_v3_layout import ConvSpec, MBConvSpec, MobileNetV3Layout

from .layers import Classifier, ConvBNAct, MBConv

__all__ = ["MobileNetV3Net", "conv_from_spec", "mbconv_from_spec"]


def conv_from_spec(spec: ConvSpec) -> ConvBNAct:
    return ConvBNAct(spec.in_channels, spec.out_channels, spec.kernel_size, spec.stride, act=spec.act,
                     use_bn=spec.use_bn)


def mbconv_from_spec(spec: MBConvSpec) -> MBConv:
    return MBConv(spec.in_channels, spec.out_channels, spec.mid_channels, spec.kernel_size, spec.stride,
                  spec.act, spec.use_se, spec.se_channels, spec.residual, spec.has_expand)


class MobileNetV3Net(nn.Module):
    """stem -> blocks -> final expand -> global pool -> feature mix -> classifier."""

    def __init__(self, layout: MobileNetV3Layout):
        super().__init__()
        self.stem = conv_from_spec(layout.stem)
        self.blocks = nn.Sequential(*[mbconv_from_spec(b) for b in layout.blocks])
        self.final_expand = conv_from_spec(layout.final_expand)
        self.feature_mix = conv_from_spec(layout.feature_mix)
        c = layout.classifier
        self.classifier = Classifier(c.in_features, c.out_features, c.dropout)
        self.resolution = layout.resolution
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum, m.eps = layout.bn_momentum, layout.bn_eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.final_expand(self.blocks(self.stem(x)))
        x = self.feature_mix(x.mean((2, 3), keepdim=True))
        return self.classifier(torch.flatten(x, 1))
