"""Blocks to test (and benchmark) the fused kernels on: eager blocks of every kind the kernels cover, with
random BN statistics, and perturbed whole subnets. No pytest here: ``benchmarks/fused_blocks.py`` imports it."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from search_spaces.mobilenet_v3_layout import make_divisible
from supernets.static.oplib import Block, ConvBNAct, SqueezeExcite

TOL = dict(rtol=1e-4, atol=1e-4)
ACTS = ("relu", "relu6", "h_swish", "h_sigmoid", "none")


def randomize_bn(module: nn.Module, gen: torch.Generator) -> None:
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.rand(c, generator=gen) - 0.5)
            m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.data.copy_(torch.rand(c, generator=gen) * 0.6 - 0.3)


def make_block(cin: int, cout: int, expand: int, k: int, s: int, se: bool, act: str, post: str = "none") -> Block:
    mid = cin * expand
    parts = OrderedDict()
    if expand != 1:
        parts["expand"] = ConvBNAct(cin, mid, 1, act=act)
    parts["depthwise"] = ConvBNAct(mid, mid, k, s, groups=mid, act=act)
    if se:
        parts["se"] = SqueezeExcite(mid, make_divisible(mid // 4, 8))
    parts["project"] = ConvBNAct(mid, cout, 1)
    residual = s == 1 and cin == cout
    return Block(nn.Sequential(parts), nn.Sequential(), residual, post)


def make_bottleneck(cin: int, mid: int, cout: int, stride: int, shortcut: str, act: str = "relu",
                    post: str = "relu", kernel: int = 3) -> Block:
    """once-for-all's ResNet bottleneck: 1x1 -> kxk (stride) -> 1x1, shortcut identity, 1x1 conv (stride)
    or avgpool + 1x1 conv."""
    main = nn.Sequential(OrderedDict(conv1=ConvBNAct(cin, mid, 1, act=act),
                                     conv2=ConvBNAct(mid, mid, kernel, stride, act=act),
                                     conv3=ConvBNAct(mid, cout, 1)))
    return Block(main, _shortcut(cin, cout, stride, shortcut), shortcut != "none", post)


def make_basic(cin: int, cout: int, stride: int, shortcut: str, kernel: int = 3, act: str = "relu",
               post: str = "relu") -> Block:
    """ResNet20's basic block: kxk (stride) -> kxk, then the shortcut."""
    main = nn.Sequential(OrderedDict(conv1=ConvBNAct(cin, cout, kernel, stride, act=act),
                                     conv2=ConvBNAct(cout, cout, kernel)))
    return Block(main, _shortcut(cin, cout, stride, shortcut), shortcut != "none", post)


def _shortcut(cin: int, cout: int, stride: int, kind: str) -> nn.Sequential:
    if kind in ("identity", "none"):
        return nn.Sequential()
    if kind == "conv":
        return nn.Sequential(OrderedDict(conv=ConvBNAct(cin, cout, 1, stride)))
    # once-for-all's downsampling: ceil_mode, so odd maps pool to the strided main path's size
    return nn.Sequential(OrderedDict(avg_pool=nn.AvgPool2d(stride, stride, ceil_mode=True),
                                     conv=ConvBNAct(cin, cout, 1)))


def perturbed_subnet(name: str, seed: int) -> nn.Module:
    from supernets import create_supernet

    torch.manual_seed(seed)
    supernet = create_supernet(name)
    supernet.sample_active(np.random.default_rng(seed))
    net = supernet.extract().eval()
    randomize_bn(net, torch.Generator().manual_seed(seed))
    return net


def assert_matches(fused_cls, block: Block, x: torch.Tensor) -> None:
    """``fused_cls(block)`` (a fused kernel's module) gives ``block``'s output on ``x`` within ``TOL``."""
    block.eval()
    fb = fused_cls(block)
    with torch.no_grad():
        want, got = block(x), fb(x)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, **TOL, msg=lambda m: f"{fb.extra_repr()} x={tuple(x.shape)}: {m}")


def check_cases(fused_cls, device: str, cases) -> None:
    """``fused_cls`` on ``device`` against eager inverted-residual blocks built from ``cases``
    ((cin, cout, expand, kernel, stride, se, act) each; 9x11 maps, batch 2, random BN statistics)."""
    gen = torch.Generator().manual_seed(0)
    for cin, cout, e, k, s, se, act in cases:
        block = make_block(cin, cout, e, k, s, se, act, post="relu" if se else "none").eval()
        randomize_bn(block, gen)
        x = torch.randn(2, cin, 9, 11, generator=gen)
        with torch.no_grad():
            want = block(x)
            got = fused_cls(block).to(device)(x.to(device)).cpu()
        torch.testing.assert_close(got, want, **TOL)
