"""Contract every registered supernet passes: sample -> extract -> forward (export: tests/nas/export)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from search_spaces import InvalidArchitecture, Structured
from supernets import create_supernet, list_supernets
from supernets.mixture import MixtureSupernet
from supernets.static import build_op
from tests.matrix import matrix_spaces

SUPERNETS = matrix_spaces(list_supernets())
MIXTURE = "resnet20-pooling x2"  # a mixture of two members keeps the same contract
CASES = SUPERNETS + [MIXTURE]


def build(case: str):
    name, _, members = case.partition(" x")
    return create_supernet(name, members=int(members or 1))


def randomize_bn(model: nn.Module, seed: int = 0) -> None:
    """Non-trivial BN statistics so that slicing mistakes show up in the outputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d) and m.track_running_stats and m.affine:
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.2 + 1)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)


def inference(net: nn.Module, supernet) -> nn.Module:
    """Inference mode comparable across supernet and extracted subnet: eval, or train (batch statistics,
    dropout off) for supernets that normalize with batch statistics (their subnets' BN is recalibrated)."""
    if not supernet.normalizes_with_batch_stats:
        return net.eval()
    net.train()
    for m in net.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    return net


@pytest.fixture(scope="module", params=CASES)
def supernet(request):
    torch.manual_seed(0)
    net = build(request.param)
    inference(net, net)
    randomize_bn(net)
    return net


def _small_arch(net, rng):
    """A random subnet at the space's smallest resolution (keeps the suite fast)."""
    arch = net.space.decode(net.space.sample(1, rng)[0])
    key = net.space.resolution_key if isinstance(net.space, Structured) else None
    return {**arch, key: min(net.space.choice(key).options)} if key else arch


def test_extracted_subnet_matches_supernet(supernet, rng):
    for _ in range(2):
        arch = _small_arch(supernet, rng)
        supernet.set_active(arch)
        x = supernet.dummy_input(2)
        sub = inference(supernet.extract(arch), supernet)
        with torch.no_grad():
            expected = supernet(x)
            np.testing.assert_allclose(sub(x).numpy(), expected.numpy(), atol=1e-5)
            np.testing.assert_allclose(supernet(x).numpy(), expected.numpy(), atol=0)  # cached path is stable
        with torch.enable_grad():
            np.testing.assert_allclose(supernet(x).detach().numpy(), expected.numpy(), atol=1e-5)


def test_print_shows_only_the_subnet(supernet, rng):
    arch = _small_arch(supernet, rng)
    sub = supernet.extract(arch)
    text = repr(sub)
    assert "Elastic" not in text
    assert len(list(sub.modules())) == len(list(supernet.extract(arch).modules()))


def test_static_subnet_is_built_by_the_op_builders(supernet, rng):
    """Every op of ``space.layers(arch)`` is the module the profiler builds for it: same type, same tensors."""
    arch = _small_arch(supernet, rng)
    sub = supernet.extract(arch)
    ops = supernet.space.layers(arch)
    built = [m for m in sub.children() for m in (m if isinstance(m, nn.Sequential) else [m])]
    assert len(built) == len(ops)
    for op, module in zip(ops, built):
        bench = build_op(op.as_spec())[0]
        assert type(bench) is type(module), op.key
        shapes = {k: v.shape for k, v in module.state_dict().items()}
        assert {k: v.shape for k, v in bench.state_dict().items()} == shapes


def test_counts_equal_forward_hooks(supernet, rng):
    """Exact MACs (conv and linear multiply-accumulates) and params, vectorized, agree with hooks on the subnet."""
    space = supernet.space
    genomes = [space.encode(_small_arch(supernet, rng)) for _ in range(3)]
    counts = space.count(np.stack(genomes))
    for i, genome in enumerate(genomes):
        arch = space.decode(genome)
        sub = supernet.extract(arch).eval()
        macs: list[int] = []
        handles = [m.register_forward_hook(lambda m, inp, out, macs=macs: macs.append(_macs(m, inp, out)))
                   for m in sub.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) or hasattr(m, "matmul_macs")]
        with torch.no_grad():
            sub(supernet.dummy_input(1, arch))
        for h in handles:
            h.remove()
        assert counts["macs"][i] == sum(macs)
        assert counts["params"][i] == sum(p.numel() for p in sub.parameters())


def _macs(m: nn.Module, inp: tuple, out: torch.Tensor) -> int:
    if isinstance(m, nn.Conv2d):
        return out[0].numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
    if isinstance(m, nn.Linear):  # once per token for token ops ([B, N, C] in)
        return out[0].numel() * m.in_features
    return m.matmul_macs(inp[0])  # products of activations (attention's q k^T and attn v)


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
    smallest = supernet.space.extremes()[1]
    supernet.train()
    try:
        supernet.zero_grad(set_to_none=True)
        arch = supernet.set_active({**smallest, **_resolution(supernet)})
        supernet(supernet.dummy_input(2, arch)).sum().backward()
        params = list(supernet.parameters())
        if isinstance(supernet, MixtureSupernet):  # one member trains; the others get nothing
            idle = [p for i, m in enumerate(supernet.members) if i != supernet.active_member for p in m.parameters()]
            assert idle and all(p.grad is None for p in idle)
            params = list(supernet.members[supernet.active_member].parameters())
        reached = [p for p in params if p.grad is not None and p.grad.abs().sum() > 0]
        counts = supernet.space.count(supernet.space.encode_many(supernet.space.extremes()))["params"]
        if counts[1] == counts[0]:  # the smallest subnet runs every weight (pooling placement moves no weights)
            assert len(reached) == len(params)
        else:
            assert 0 < len(reached) < len(params)  # skipped blocks get no gradient
            assert sum(int((p.grad != 0).sum()) for p in reached) < sum(p.numel() for p in reached)  # nor channels
    finally:
        inference(supernet, supernet)
        supernet.zero_grad(set_to_none=True)


def _resolution(net) -> dict:
    key = net.space.resolution_key if isinstance(net.space, Structured) else None
    return {key: min(net.space.choice(key).options)} if key else {}


def test_inference_cache_follows_weight_updates(rng):
    """The no-grad weight cache must never serve stale weights (optimizer steps, assigned state dicts)."""
    for case in CASES:
        net = build(case)
        inference(net, net)
        arch = _small_arch(net, rng)
        net.set_active(arch)
        x = net.dummy_input(1)
        with torch.no_grad():
            net(x)  # fill the cache
        opt = torch.optim.SGD(net.parameters(), lr=0.5)
        net(x).sum().backward()
        opt.step()
        with torch.no_grad():
            np.testing.assert_allclose(net(x).numpy(), inference(net.extract(arch), net)(x).numpy(), atol=1e-5)
        net.load_state_dict({k: v * 1.1 for k, v in net.state_dict().items()}, assign=True)
        with torch.no_grad():
            np.testing.assert_allclose(net(x).numpy(), inference(net.extract(arch), net)(x).numpy(), atol=1e-5)
