"""The ResNet20 pooling supernet: one ResNet20 whose two max-pool layers move (every placement shares
every weight). BatchNorm as in the Balanced Mixture of SuperNets: no affine parameters and batch
statistics in training and evaluation alike, since running statistics gathered over 36 placements
fit none of them. ``extract`` gives a static ResNet20 with ordinary BN layers (scale 1, shift 0)
whose running statistics BN recalibration fills in, so the exported net does not depend on its batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from search_spaces import Arch
from search_spaces.resnet20_pooling import N_LAYERS, WIDTHS, Placement, PoolingResNet20Space

from ._base import Supernet, register_supernet
from .static import StaticNet
from .static.oplib import Block, ConvBNAct

__all__ = ["PoolingResNet20Supernet", "BasicBlock"]


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, affine=False, track_running_stats=False)


class ConvBN(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, relu: bool):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, 1, kernel // 2, bias=False)
        self.bn = _bn(cout)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.conv(x))
        return F.relu(y) if self.relu else y


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU, conv3x3-BN, plus the input (a 1x1 conv + BN where the width changes), ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = ConvBN(cin, cout, 3, relu=True)
        self.conv2 = ConvBN(cout, cout, 3, relu=False)
        self.shortcut = ConvBN(cin, cout, 1, relu=False) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x if self.shortcut is None else self.shortcut(x)
        return F.relu(self.conv2(self.conv1(x)) + skip)


class PoolingResNet20Supernet(Supernet):
    normalizes_with_batch_stats = True

    def __init__(self, space: PoolingResNet20Space):
        super().__init__(space)
        self.stem = ConvBN(3, WIDTHS[0], 3, relu=True)
        self.blocks = nn.ModuleList(BasicBlock(WIDTHS[i - 1], WIDTHS[i]) for i in range(1, N_LAYERS))
        self.classifier = nn.Linear(WIDTHS[-1], space.n_classes)
        self.pool_before: tuple[int, ...] = ()
        self.set_active(self.active_arch)

    def _apply_arch(self, arch: Arch) -> None:
        self.pool_before = Placement(arch["pool"]).pool_positions

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer, block in enumerate(self.blocks, start=1):
            if layer in self.pool_before:
                x = F.max_pool2d(x, 2)
            x = block(x)
        return self.classifier(x.mean((2, 3)))

    def _extract(self, arch: Arch) -> StaticNet:
        net = StaticNet(self.space.layers(arch), self.space.input_shape(arch))
        _copy(net.stem, self.stem)
        for layer, block in enumerate(self.blocks, start=1):
            target: Block = getattr(net, f"layer{layer}")
            target = target[-1] if isinstance(target, nn.Sequential) else target  # after its max-pool
            _copy(target.main.conv1, block.conv1)
            _copy(target.main.conv2, block.conv2)
            if block.shortcut is not None:
                _copy(target.shortcut.shortcut, block.shortcut)
        net.classifier.linear.load_state_dict(self.classifier.state_dict())
        return net


def _copy(target: ConvBNAct, source: ConvBN) -> None:
    target.conv.weight.copy_(source.conv.weight)
    # no affine parameters: the static BN's scale 1 and shift 0 are the identity it stands for


@register_supernet("resnet20-pooling")
def _resnet20_pooling(space: PoolingResNet20Space) -> PoolingResNet20Supernet:
    return PoolingResNet20Supernet(space)
