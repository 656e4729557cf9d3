"""The fused ResNet block kernel (``nas_fused::conv_block``) against the eager block it replaces: property
tests over the basic and bottleneck shapes the spaces use, whole subnets, fallbacks, export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from supernets.static.oplib import Block, ConvBNAct

from .blocks import ACTS, TOL, assert_matches, make_basic, make_bottleneck, perturbed_subnet, randomize_bn


@pytest.mark.parametrize("shortcut,stride", [("identity", 1), ("none", 1), ("none", 2), ("conv", 1), ("conv", 2),
                                             ("avgpool_conv", 2)])
def test_bottleneck_matches_eager(fused, shortcut, stride):
    """Channel counts on and off multiples of 8, odd and even maps, batch 1 and 3, every activation, 1x1 to
    5x5 middle kernels, random BN statistics."""
    rng = np.random.default_rng([stride, len(shortcut)])
    gen = torch.Generator().manual_seed(int(rng.integers(1 << 30)))
    for trial in range(6):
        cin = int(rng.choice([8, 12, 16, 40]))
        mid = int(rng.choice([8, 12, 24]))
        cout = cin if shortcut == "identity" else int(rng.choice([16, 20, 64]))
        h = int(rng.choice([5, 7, 9, 14]))
        w = int(rng.choice([h, 6, 11]))
        act = ACTS[trial % len(ACTS)]
        block = make_bottleneck(cin, mid, cout, stride, shortcut, act=act, post=ACTS[(trial + 1) % len(ACTS)],
                                kernel=int(rng.choice([1, 3, 5])))
        randomize_bn(block, gen)
        assert_matches(fused.FusedConvBlock, block, torch.randn(int(rng.choice([1, 3])), cin, h, w, generator=gen))


@pytest.mark.parametrize("kernel", (3, 5, 7))
@pytest.mark.parametrize("stride", (1, 2))
def test_basic_block_matches_eager(fused, kernel, stride):
    rng = np.random.default_rng([kernel, stride])
    gen = torch.Generator().manual_seed(int(rng.integers(1 << 30)))
    for shortcut in ("identity", "conv", "none"):
        if shortcut == "identity" and stride == 2:
            continue
        cin = int(rng.choice([16, 12, 32]))
        cout = cin if shortcut == "identity" else int(rng.choice([16, 20, 64]))
        h = int(rng.choice([4, 8, 13, 32]))
        block = make_basic(cin, cout, stride, shortcut, kernel=kernel)
        randomize_bn(block, gen)
        assert_matches(fused.FusedConvBlock, block, torch.randn(int(rng.choice([1, 2])), cin, h, h, generator=gen))


@pytest.mark.parametrize("threads", (1, 2))
def test_thread_splits(fused, threads):
    """Row chunks split across threads, tiny maps (fewer rows than threads) too."""
    gen = torch.Generator().manual_seed(2)
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for h, batch in ((1, 1), (2, 3), (3, 1), (7, 2), (28, 1)):
            block = make_bottleneck(24, 16, 24, 1, "identity")
            randomize_bn(block, gen)
            assert_matches(fused.FusedConvBlock, block, torch.randn(batch, 24, h, h, generator=gen))
            block = make_basic(16, 32, 2 if h > 1 else 1, "conv")
            randomize_bn(block, gen)
            assert_matches(fused.FusedConvBlock, block, torch.randn(batch, 16, h, h, generator=gen))
    finally:
        torch.set_num_threads(old)


def test_fallbacks_report_why(fused):
    grouped = make_basic(16, 16, 1, "identity")
    grouped.main.conv2 = ConvBNAct(16, 16, 3, groups=2)
    even = make_basic(16, 16, 1, "identity")
    even.main.conv1 = ConvBNAct(16, 16, 4, act="relu")
    gelu = make_bottleneck(16, 8, 16, 1, "identity")
    gelu.main.conv2.act = nn.GELU()
    act_before_conv_add = make_bottleneck(16, 8, 32, 1, "conv")
    act_before_conv_add.main.conv3.act = nn.ReLU()
    max_pool = make_bottleneck(16, 8, 32, 2, "avgpool_conv")
    max_pool.shortcut.avg_pool = nn.MaxPool2d(2, 2)
    ok = make_bottleneck(16, 8, 32, 2, "avgpool_conv")
    rep = fused.fuse_blocks(nn.Sequential(grouped, even, gelu, act_before_conv_add, max_pool, ok)).fusion_report
    assert rep.fused == ["5"]
    assert "grouped" in rep.fallback["0"]
    assert "odd" in rep.fallback["1"]
    assert "GELU" in rep.fallback["2"]
    assert "activation" in rep.fallback["3"]
    assert "AvgPool2d" in rep.fallback["4"]


def test_bad_input_is_refused(fused):
    fb = fused.FusedConvBlock(make_bottleneck(16, 8, 32, 2, "avgpool_conv").eval())
    with pytest.raises(RuntimeError, match="float32"):
        fb(torch.randn(1, 16, 8, 8, dtype=torch.float64))
    with pytest.raises(RuntimeError):
        fb(torch.randn(1, 24, 8, 8))  # wrong channel count
    with pytest.raises(RuntimeError, match="empty feature map"):
        fb(torch.randn(1, 16, 0, 8))


def test_export_and_compile_trace_the_op(fused):
    net = perturbed_subnet("resnet20-pooling", seed=6)
    fnet = fused.fuse_blocks(net)
    x = torch.randn(1, 3, 32, 32)
    ep = torch.export.export(fnet, (x,))
    assert any("conv_block" in str(node.target) for node in ep.graph.nodes)
    compiled = torch.compile(fnet, backend="aot_eager", fullgraph=True)
    with torch.no_grad():
        want = net(x)
        torch.testing.assert_close(ep.module()(x), want, **TOL)
        torch.testing.assert_close(compiled(x), want, **TOL)


@pytest.mark.parametrize("layers_faster", (True, False))
def test_example_keeps_the_faster_path(fused, monkeypatch, layers_faster):
    """Given an example, a block keeps its layers exactly where they timed faster (timings forced here),
    and the result is the same either way."""
    from nas.hardware.fused import fuse as fuse_mod

    net = perturbed_subnet("resnet20-pooling", seed=7)
    n_blocks = sum(isinstance(m, Block) for m in net.modules())
    timed = []

    def fake_faster(layers, kernel, x, rounds):
        timed.append(tuple(x.shape))
        return (1.0, 2.0) if layers_faster else (2.0, 1.0)

    monkeypatch.setattr(fuse_mod, "_faster", fake_faster)
    x = torch.randn(1, 3, 32, 32)
    fnet = fused.fuse_blocks(net, x)
    rep = fnet.fusion_report
    assert len(timed) == n_blocks and all(shape[0] == 1 for shape in timed)  # each block on its own input
    if layers_faster:
        assert not rep.fused and all("faster here" in why for why in rep.fallback.values())
    else:
        assert len(rep.fused) == n_blocks and not rep.fallback
    with torch.no_grad():
        torch.testing.assert_close(fnet(x), net(x), **TOL)


def test_example_timing_runs_for_real(fused):
    net = perturbed_subnet("ofa-resnet50", seed=8)
    x = torch.randn(1, 3, 64, 64)
    fnet = fused.fuse_blocks(net, x, rounds=1)
    rep = fnet.fusion_report
    n_blocks = sum(isinstance(m, Block) for m in net.modules())
    assert len(rep.fused) + len(rep.fallback) == n_blocks
    assert all("faster here" in why for why in rep.fallback.values())
    with torch.no_grad():
        torch.testing.assert_close(fnet(x), net(x), **TOL)
