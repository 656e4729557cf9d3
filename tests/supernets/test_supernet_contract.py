"""Contract every registered supernet passes: sample -> extract -> forward -> TorchScript -> reload."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from torch import nn

from search_spaces import InvalidArchitecture
from supernets import create_supernet, list_supernets
from supernets.ops import ElasticMBConv

SUPERNETS = list_supernets()


def randomize_bn(model: nn.Module, seed: int = 0) -> None:
    """Non-trivial BN statistics so that slicing mistakes show up in the outputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.2 + 1)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)


@pytest.fixture(scope="module", params=SUPERNETS)
def supernet(request):
    torch.manual_seed(0)
    net = create_supernet(request.param).eval()
    randomize_bn(net)
    return net


def _small_arch(net, rng):
    """A random subnet at the space's smallest resolution (keeps the suite fast)."""
    arch = net.space.decode(net.space.sample(1, rng)[0])
    return {**arch, "r": min(net.space.choice("r").options)}


def test_extracted_subnet_matches_supernet(supernet, rng):
    for _ in range(3):
        arch = _small_arch(supernet, rng)
        supernet.set_active(arch)
        x = supernet.dummy_input(2)
        sub = supernet.extract(arch).eval()
        with torch.no_grad():
            expected = supernet(x)
            np.testing.assert_allclose(sub(x).numpy(), expected.numpy(), atol=1e-5)
            np.testing.assert_allclose(supernet(x).numpy(), expected.numpy(), atol=0)  # cached path is stable
        with torch.enable_grad():
            np.testing.assert_allclose(supernet(x).detach().numpy(), expected.numpy(), atol=1e-5)


def test_torchscript_roundtrip(supernet, rng):
    arch = _small_arch(supernet, rng)
    sub = supernet.extract(arch).eval()
    x = supernet.dummy_input(1, arch)
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(sub), buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    with torch.no_grad():
        np.testing.assert_allclose(loaded(x).numpy(), sub(x).numpy(), atol=1e-5)


def test_print_shows_only_the_subnet(supernet, rng):
    arch = _small_arch(supernet, rng)
    sub = supernet.extract(arch)
    text = repr(sub)
    assert "Elastic" not in text
    if "d" in arch:
        assert len(sub.blocks) == sum(arch["d"]) + 1


def test_extract_restores_the_active_subnet(supernet, rng):
    a, b = _small_arch(supernet, rng), _small_arch(supernet, rng)
    supernet.set_active(a)
    supernet.extract(b)
    assert supernet.active_arch == supernet.space.validate(a)


def test_sampling_is_seeded(supernet):
    a = supernet.sample_active(np.random.default_rng(3))
    b = supernet.sample_active(np.random.default_rng(3))
    assert a == b


def test_set_active_validates(supernet):
    with pytest.raises(InvalidArchitecture):
        supernet.set_active({"bogus": 1})


def test_training_step_reaches_only_active_weights(supernet, rng):
    arch = supernet.set_min()
    supernet.train()
    try:
        supernet.zero_grad(set_to_none=True)
        out = supernet(supernet.dummy_input(2, arch))
        out.sum().backward()
        blocks = [m for m in supernet.modules() if isinstance(m, ElasticMBConv)]
        if blocks and "d" in arch:
            inactive = blocks[supernet.max_depth - 1]  # last block of stage 1, beyond depth 2
            assert all(p.grad is None for p in inactive.parameters())
            active = blocks[0]
            grad = active.expand.weight.grad
            mid = active.mid_channels(min(active.expand_ratios))
            assert grad[:mid].abs().sum() > 0 and grad[mid:].abs().sum() == 0
    finally:
        supernet.eval()
        supernet.zero_grad(set_to_none=True)


def test_inference_cache_follows_weight_updates(rng):
    """The no-grad weight cache must never serve stale weights (optimizer steps, assigned state dicts)."""
    for name in SUPERNETS:
        net = create_supernet(name).eval()
        arch = _small_arch(net, rng)
        net.set_active(arch)
        x = net.dummy_input(1)
        with torch.no_grad():
            net(x)  # fill the cache
        opt = torch.optim.SGD(net.parameters(), lr=0.5)
        net(x).sum().backward()
        opt.step()
        with torch.no_grad():
            np.testing.assert_allclose(net(x).numpy(), net.extract(arch).eval()(x).numpy(), atol=1e-5)
        net.load_state_dict({k: v * 1.1 for k, v in net.state_dict().items()}, assign=True)
        with torch.no_grad():
            np.testing.assert_allclose(net(x).numpy(), net.extract(arch).eval()(x).numpy(), atol=1e-5)
