"""The fused inverted-residual kernel against the eager block it replaces (property tests over the
shapes the spaces use), fallbacks, torch.compile / torch.export, and loading the library alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from supernets.static.oplib import Block, ConvBNAct

from .blocks import ACTS, TOL, assert_matches, make_block, perturbed_subnet, randomize_bn


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("s", (1, 2))
@pytest.mark.parametrize("k", (3, 5, 7))
def test_block_matches_eager(fused, k, s, act):
    """Every expand ratio (1 = no expand, 3, 4, 6), SE on/off, residual or not, odd and even sizes,
    batch 1 and 3, channel counts that are and are not multiples of 8, random BN statistics."""
    rng = np.random.default_rng([k, s, ACTS.index(act)])
    gen = torch.Generator().manual_seed(int(rng.integers(1 << 30)))
    for expand in (1, 3, 4, 6):
        for se in (False, True):
            cin = int(rng.choice([8, 12, 16, 24]))
            cout = cin if rng.random() < 0.5 else int(rng.choice([8, 20, 24, 40]))
            h = int(rng.choice([7, 13, 14, 28]))
            w = h if rng.random() < 0.7 else int(rng.choice([5, 9, 14]))
            batch = int(rng.choice([1, 3]))
            block = make_block(cin, cout, expand, k, s, se, act)
            randomize_bn(block, gen)
            assert_matches(fused.FusedInvertedResidual, block, torch.randn(batch, cin, h, w, generator=gen))


@pytest.mark.parametrize("threads", (1, 2))
def test_thread_splits(fused, threads):
    """Row chunks split across threads (batch 1 and 3 on 2 threads) give the same result, tiny maps too."""
    gen = torch.Generator().manual_seed(1)
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for h, batch, se in ((1, 1, True), (2, 3, False), (3, 1, False), (7, 3, True), (28, 1, True)):
            block = make_block(16, 16, 6, 7, 1, se, "h_swish", post="relu")
            randomize_bn(block, gen)
            assert_matches(fused.FusedInvertedResidual, block, torch.randn(batch, 16, h, h, generator=gen))
    finally:
        torch.set_num_threads(old)


@pytest.mark.parametrize("name,res", (("ofa-mbv3", 64), ("ofa-mbv3-cifar-small", 32), ("ofa-resnet50", 64),
                                      ("resnet20-pooling", 32)))
def test_whole_subnet(fused, name, res):
    net = perturbed_subnet(name, seed=3)
    fnet = fused.fuse_blocks(net)
    n_blocks = sum(isinstance(m, Block) for m in net.modules())
    assert len(fnet.fusion_report.fused) == n_blocks and not fnet.fusion_report.fallback, fnet.fusion_report
    assert not any(isinstance(m, Block) for m in fnet.modules())
    x = torch.randn(2, 3, res, res)
    with torch.no_grad():
        torch.testing.assert_close(fnet(x), net(x), **TOL)
    assert any(isinstance(m, Block) for m in net.modules())  # the original is left alone


def test_fallbacks_report_why(fused):
    odd_kernel = make_block(16, 16, 3, 3, 1, False, "relu")
    odd_kernel.main.depthwise = ConvBNAct(48, 48, 9, 1, groups=48, act="relu")
    mixed_act = make_block(16, 24, 3, 5, 2, False, "relu")
    mixed_act.main.expand.act = nn.Hardswish()
    gelu = make_block(16, 24, 3, 5, 2, False, "relu")
    gelu.main.depthwise.act = nn.GELU()
    bottleneck = Block(nn.Sequential(OrderedDict(conv1=ConvBNAct(16, 8, 1, act="relu"),
                                                 conv2=ConvBNAct(8, 8, 3, act="relu"),
                                                 conv3=ConvBNAct(8, 32, 1))),
                       nn.Sequential(OrderedDict(conv=ConvBNAct(16, 32, 1))), True, "relu")
    ok = make_block(16, 16, 4, 3, 1, True, "relu")
    net = nn.Sequential(odd_kernel, mixed_act, gelu, bottleneck, ok).eval()
    fnet = fused.fuse_blocks(net)
    rep = fnet.fusion_report
    assert rep.fused == ["3", "4"]  # the bottleneck goes to the dense conv-block kernel
    assert set(rep.fallback) == {"0", "1", "2"}
    assert "kernel 9" in rep.fallback["0"]
    assert "differs" in rep.fallback["1"]
    assert "GELU" in rep.fallback["2"]
    x = torch.randn(1, 16, 14, 14)
    with torch.no_grad():
        for orig, new in zip(net, fnet):  # every block takes 16 channels
            torch.testing.assert_close(new(x), orig(x), **TOL)


def test_unavailable_falls_back_everywhere(fused, monkeypatch):
    from nas.hardware.fused import _ext

    monkeypatch.setattr(_ext, "error", lambda: "no C++ compiler: c++ not found on PATH")
    net = nn.Sequential(make_block(8, 8, 3, 3, 1, False, "relu"))
    fnet = fused.fuse_blocks(net)
    assert fnet.fusion_report.fused == []
    assert fnet.fusion_report.fallback == {"0": "fused kernels unavailable: no C++ compiler: c++ not found on PATH"}


def test_bad_input_is_refused(fused):
    fb = fused.FusedInvertedResidual(make_block(8, 8, 3, 3, 1, False, "relu").eval())
    with pytest.raises(RuntimeError, match="float32"):
        fb(torch.randn(1, 8, 5, 5, dtype=torch.float64))
    with pytest.raises(RuntimeError):
        fb(torch.randn(1, 16, 5, 5))  # wrong channel count


def test_torch_compile_traces_the_op(fused):
    fb = fused.FusedInvertedResidual(make_block(16, 16, 4, 5, 1, True, "h_swish").eval())
    x = torch.randn(1, 16, 14, 14)
    compiled = torch.compile(fb, backend="aot_eager", fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), fb(x))


def test_exported_model_needs_only_the_library(fused, tmp_path):
    net = perturbed_subnet("ofa-mbv3-cifar-small", seed=5)
    fnet = fused.fuse_blocks(net)
    x = torch.randn(1, 3, 32, 32)
    ep = torch.export.export(fnet, (x,))
    assert any("nas_fused" in str(node.target) for node in ep.graph.nodes)
    torch.export.save(ep, tmp_path / "net.pt2")
    with torch.no_grad():
        torch.save({"x": x, "y": net(x)}, tmp_path / "io.pt")
    script = textwrap.dedent(f"""
        import sys, torch
        torch.ops.load_library({str(fused.library_path())!r})
        ep = torch.export.load({str(tmp_path / 'net.pt2')!r})
        io = torch.load({str(tmp_path / 'io.pt')!r})
        with torch.no_grad():
            torch.testing.assert_close(ep.module()(io["x"]), io["y"], rtol=1e-4, atol=1e-4)
        assert not any(m == "nas" or m.startswith(("nas.", "supernets", "search_spaces")) for m in sys.modules)
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-2000:]
