"""The ViT-ResNAS supernet: extraction, multi-architecture batches, counts, export, gradients; the residual
space and its plain-reduction variant (``-plain``) alike where their networks differ."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from search_spaces import get_space
from search_spaces.errors import CheckpointError, InvalidInput
from supernets import MultiArch, create_supernet
from supernets.static.transformer import Attention, SpatialReduction
from supernets.vit_resnas import ViTResNASSupernet

SPACE = "vit-resnas-cifar"
PLAIN = "vit-resnas-cifar-plain"


def _perturbed(space: str) -> ViTResNASSupernet:
    torch.manual_seed(0)
    net = create_supernet(space).eval()
    _perturb(net)
    return net


# extraction, multi-arch masks, counts and export run on both reductions; the rest (gradients, drop path,
# refusals: code the reduction does not reach) on the residual net only, to keep the file's time
@pytest.fixture(scope="module", params=(SPACE, PLAIN))
def supernet(request) -> ViTResNASSupernet:
    return _perturbed(request.param)


@pytest.fixture(scope="module")
def residual() -> ViTResNASSupernet:
    return _perturbed(SPACE)


def _perturb(net: nn.Module) -> None:
    """Non-trivial LayerNorm affines, biases and BN statistics, so that slicing mistakes show up."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(torch.randn(p.shape, generator=gen) * 0.1)
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)


def _archs(space, n: int, seed: int = 0) -> list[dict]:
    largest, smallest = space.extremes()
    return [largest, smallest] + [space.decode(g) for g in space.sample(n, np.random.default_rng(seed))]


def _images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_is_multi_arch_and_records_its_options(supernet):
    assert isinstance(supernet, MultiArch)
    assert supernet.build_options() == {"drop_path": 0.1, "residual_reduction": supernet.space.name == SPACE}


def test_extracted_subnets_equal_the_supernet(supernet):
    x = _images(3)
    for arch in _archs(supernet.space, 1):
        supernet.set_active(arch)
        sub = supernet.extract(arch).eval()
        assert sum(p.numel() for p in sub.parameters()) == supernet.space.count(supernet.space.encode(arch)[None])[
            "params"][0]
        with torch.no_grad():
            torch.testing.assert_close(sub(x), supernet(x), atol=1e-5, rtol=0)


@pytest.mark.parametrize("masks", (False, True), ids=("sliced", "masks"))
def test_multi_arch_batch_equals_each_slice_alone(supernet, masks):
    archs, sizes = _archs(supernet.space, 2, seed=5), [2, 1, 3, 2]
    x = _images(sum(sizes), seed=1)
    supernet.set_active_many(archs, sizes, masks=masks)
    assert supernet.multi_arch
    with torch.no_grad():
        together = supernet(x)
        supernet.extract(archs[2])  # extraction leaves the multi-arch setting as it was
        torch.testing.assert_close(supernet(x), together, atol=0, rtol=0)
        assert supernet.active_arch == supernet.space.validate(archs[0])
        start = 0
        for arch, n in zip(archs, sizes):
            supernet.set_active(arch)
            torch.testing.assert_close(together[start:start + n], supernet(x[start:start + n]), atol=1e-5, rtol=0)
            start += n
    assert not supernet.multi_arch


@pytest.mark.parametrize("masks", (False, True), ids=("sliced", "masks"))
def test_multi_arch_refuses_a_batch_of_another_size(residual, masks):
    supernet = residual
    archs = _archs(supernet.space, 0)
    with pytest.raises(InvalidInput, match="sizes"):
        supernet.set_active_many(archs, [1], masks=masks)
    with pytest.raises(InvalidInput, match="positive"):
        supernet.set_active_many(archs, [1, 0], masks=masks)
    supernet.set_active_many(archs, [1, 2], masks=masks)
    with pytest.raises(InvalidInput, match="3 samples"):
        supernet(_images(2))
    supernet.set_active(archs[0])


def test_sliced_and_masked_multi_arch_batches_agree_in_training():
    """In training mode the stem's BN normalizes over the whole batch in both executions, so a sliced and a
    masked multi-arch forward give the same outputs and the same gradients."""
    torch.manual_seed(0)
    net = create_supernet(SPACE, drop_path=0.0).train()
    _perturb(net)
    archs, sizes = _archs(net.space, 2, seed=8), [3, 2, 2, 1]
    x = _images(sum(sizes), seed=2)
    grads = []
    for masks in (False, True):
        net.zero_grad(set_to_none=True)
        net.set_active_many(archs, sizes, masks=masks)
        out = net(x)
        out.square().sum().backward()
        grads.append((out.detach(), {k: p.grad for k, p in net.named_parameters() if p.grad is not None}))
    torch.testing.assert_close(grads[0][0], grads[1][0], atol=1e-5, rtol=1e-5)
    assert grads[0][1].keys() == grads[1][1].keys()
    for k, g in grads[0][1].items():
        torch.testing.assert_close(g, grads[1][1][k], atol=1e-4, rtol=1e-4, msg=k)
    net.set_active(archs[0])


@pytest.mark.parametrize("masks", (False, True), ids=("sliced", "masks"))
def test_multi_arch_gradients_equal_the_sum_over_slices(masks):
    """One backward through the multi-arch batch gives every active parameter the gradient the archs give it
    one by one (and nothing to weights no arch uses)."""
    torch.manual_seed(0)
    net = create_supernet(SPACE, drop_path=0.0).eval()  # eval: BN running statistics, the same in both
    _perturb(net)
    space = net.space
    archs = [space.decode(g) for g in space.sample(2, np.random.default_rng(2))] + [space.extremes()[1]]
    archs[0] |= {"embed1": 56, "keep": [True] * 9}  # every block runs in some arch
    archs[1] |= {"embed1": 48}  # channel 56 of stage 1 in none
    sizes = [2, 1, 1]
    x = _images(sum(sizes), seed=3)
    weights = torch.randn(sum(sizes), space.n_classes, generator=torch.Generator().manual_seed(4))
    net.zero_grad(set_to_none=True)
    net.set_active_many(archs, sizes, masks=masks)
    (net(x) * weights).sum().backward()
    together = {k: None if p.grad is None else p.grad.clone() for k, p in net.named_parameters()}
    net.zero_grad(set_to_none=True)
    start = 0
    for arch, n in zip(archs, sizes):
        net.set_active(arch)
        (net(x[start:start + n]) * weights[start:start + n]).sum().backward()
        start += n
    reached = 0
    for k, p in net.named_parameters():
        alone = torch.zeros_like(p) if p.grad is None else p.grad
        mine = torch.zeros_like(p) if together[k] is None else together[k]
        torch.testing.assert_close(mine, alone, atol=1e-5, rtol=1e-4, msg=k)
        reached += bool(alone.abs().sum() > 0)
    assert reached == sum(1 for _ in net.parameters())  # every tensor is (partly) active in some arch
    # but not every element: no arch has stage 1 wider than 56 channels
    assert net.stages[0][0].attn.qkv.weight.grad[:, 56:].abs().sum() == 0
    assert net.stages[0][0].attn.qkv.weight.grad[:, :56].abs().sum() > 0


def test_hook_counts_equal_space_counts(supernet):
    space = supernet.space
    archs = _archs(space, 2, seed=7)
    counts = space.count(space.encode_many(archs))
    for i, arch in enumerate(archs):
        sub = supernet.extract(arch).eval()
        macs: list[int] = []

        def hook(m, inp, out, macs=macs):
            if isinstance(m, nn.Conv2d):
                macs.append(out[0].numel() * m.in_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups)
            elif isinstance(m, nn.Linear):
                macs.append(out[0].numel() * m.in_features)
            else:  # attention: q k^T and attn v
                macs.append(m.matmul_macs(inp[0]))

        handles = [m.register_forward_hook(hook) for m in sub.modules()
                   if isinstance(m, (nn.Conv2d, nn.Linear, Attention))]
        with torch.no_grad():
            sub(_images(1))
        for h in handles:
            h.remove()
        assert sum(macs) == counts["macs"][i]
        assert sum(p.numel() for p in sub.parameters()) == counts["params"][i]


def test_the_plain_space_builds_plain_reductions():
    """The reduction is the space's: the plain space's supernet, its extracted nets and its op keys are plain,
    with the residual space's state dict (the weights are the same tensors, the function is not)."""
    torch.manual_seed(0)
    net = create_supernet(PLAIN).eval()
    assert net.residual_reduction is False and net.build_options()["residual_reduction"] is False
    arch = _archs(net.space, 1, seed=9)[2]
    net.set_active(arch)
    sub = net.extract(arch).eval()
    reductions = [m for m in sub.modules() if isinstance(m, SpatialReduction)]
    assert len(reductions) == 2 and not any(m.residual for m in reductions)
    keys = [op.key for op in net.space.layers(arch) if op.kind == "spatial_reduction"]
    assert len(keys) == 2 and all("-res:0-" in k for k in keys)
    x = _images(2)
    with torch.no_grad():
        torch.testing.assert_close(sub(x), net(x), atol=1e-5, rtol=0)
        residual = create_supernet(SPACE)
        residual.load_state_dict(net.state_dict())
        residual.eval().set_active(arch)
        assert (residual(x) - net(x)).abs().max() > 1e-3  # the skip changes the function


def test_a_reduction_option_must_agree_with_the_space():
    """``residual_reduction`` once chose the plain net; now it may only repeat the space's reduction, and a
    conflicting value names the space to use (costed as the other space, its subnets would be misjudged)."""
    assert create_supernet(SPACE, residual_reduction=True).residual_reduction is True
    assert create_supernet(PLAIN, residual_reduction=False).residual_reduction is False
    for space, value, other in ((SPACE, False, PLAIN), (PLAIN, True, SPACE),
                                ("vit-resnas-cifar[embed1=64]", False, "vit-resnas-cifar-plain[embed1=64]")):
        with pytest.raises(InvalidInput, match=rf"residual_reduction={value} builds the network of space "
                                               rf"{re.escape(other)}, not {re.escape(space)}: use space "):
            create_supernet(space, residual_reduction=value)
    with pytest.raises(InvalidInput, match="residual_reduction=2 must be true or false"):
        create_supernet(PLAIN, residual_reduction=2)


def test_a_checkpoint_rebuilds_the_plain_reduction(tmp_path):
    """``load_supernet`` (nas evaluate, search, export) builds the plain space's supernet from its checkpoint,
    and a residual rebuild (same state dict keys, another function) is refused naming the checkpoint's space."""
    from supernets.checkpoint import load_supernet, save_checkpoint

    net = create_supernet(PLAIN, drop_path=0.0)
    save_checkpoint(net, tmp_path / "plain.pt")
    loaded, _ = load_supernet(tmp_path / "plain.pt")
    assert loaded.space.name == PLAIN and loaded.build_options() == {"drop_path": 0.0, "residual_reduction": False}
    assert load_supernet(tmp_path / "plain.pt", PLAIN)[0].residual_reduction is False
    with pytest.raises(CheckpointError, match=f"was made for space {PLAIN}, not {SPACE}$"):
        load_supernet(tmp_path / "plain.pt", SPACE)


def old_plain_checkpoint(path, seed: int = 0) -> ViTResNASSupernet:
    """A plain-reduction checkpoint as written before the plain space existed: space vit-resnas-cifar (its
    layout) with the build option ``residual_reduction=False``; returns the supernet whose weights it holds."""
    from supernets.checkpoint import save_checkpoint

    torch.manual_seed(seed)
    net = create_supernet(PLAIN, drop_path=0.0).eval()
    _perturb(net)
    save_checkpoint(net, path)
    ckpt = torch.load(path, weights_only=True)
    ckpt |= {"space": SPACE, "layout": get_space(SPACE).layout_signature()}
    torch.save(ckpt, path)
    return net


def test_an_old_plain_checkpoint_loads_as_the_plain_space(tmp_path):
    """Loaded, it is the plain space's supernet computing what was trained; asked for as the residual space
    it is refused, saying what it records."""
    from supernets.checkpoint import load_supernet, read_checkpoint

    trained = old_plain_checkpoint(tmp_path / "old.pt")
    ckpt = read_checkpoint(tmp_path / "old.pt")
    assert (ckpt["space"], ckpt["upgraded_from"]) == (PLAIN, SPACE)
    assert ckpt["layout"] == get_space(PLAIN).layout_signature()
    loaded, meta = load_supernet(tmp_path / "old.pt")
    assert loaded.space.name == PLAIN and loaded.residual_reduction is False and meta["space"] == PLAIN
    assert load_supernet(tmp_path / "old.pt", PLAIN)[0].space.name == PLAIN
    arch, x = _archs(loaded.space, 1, seed=3)[2], _images(2)
    loaded.eval().set_active(arch)
    trained.set_active(arch)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), trained(x), atol=0, rtol=0)
    with pytest.raises(CheckpointError, match=f"made for space {PLAIN} \\(it records space {SPACE} with supernet "
                                              r"options \{'drop_path': 0.0, 'residual_reduction': False\}\), not "
                                              f"{SPACE}$"):
        load_supernet(tmp_path / "old.pt", SPACE)


def test_drop_path_runs_only_in_training(residual):
    supernet = residual
    supernet.set_active(supernet.space.extremes()[0])
    x = _images(4)
    try:
        supernet.train()
        for m in supernet.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()  # only drop path differs between the passes
        torch.manual_seed(1)
        with torch.no_grad():
            a, b = supernet(x), supernet(x)
        assert (a - b).abs().max() > 1e-4
    finally:
        supernet.eval()
    with torch.no_grad():
        torch.testing.assert_close(supernet(x), supernet(x), atol=0, rtol=0)


def test_restricted_tiny_space_extracts_equal(tmp_path):
    """A restriction of the ImageNet space keeps the full-size supernet (its weights) and extracts equal."""
    torch.manual_seed(0)
    space = get_space("vit-resnas-tiny[embed1=160,embed2=320,embed3=640,heads1=3,mlp1=384]")
    net = create_supernet(space).eval()
    arch = space.extremes()[1]
    net.set_active(arch)
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(net.extract(arch).eval()(x), net(x), atol=1e-5, rtol=0)


# ------------------------------------------------------------------------------------------ export
LOADER = """
import sys, torch
sys.path = [p for p in sys.path if p and 'work/main' not in p and 'site-packages' in p]
m = torch.jit.load(sys.argv[1])
torch.save(m(torch.load(sys.argv[2])), sys.argv[3])
bad = [k for k in sys.modules if k.split('.')[0] in ('nas', 'supernets', 'search_spaces', 'predictors')]
assert not bad, bad
"""


@pytest.fixture(scope="module")
def subnet(supernet):
    arch = _archs(supernet.space, 1, seed=11)[2]
    return supernet.extract(arch).eval()


def test_torchscript_and_torch_export_agree(subnet):
    x = _images(2, seed=2)
    with torch.no_grad():
        eager = subnet(x)
        torch.testing.assert_close(torch.jit.script(subnet)(x), eager, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(torch.jit.trace(subnet, x)(_images(2, seed=2)), eager, atol=1e-5, rtol=1e-5)
        exported = torch.export.export(subnet, (x,))
        torch.testing.assert_close(exported.module()(x), eager, atol=1e-5, rtol=1e-5)


def test_saved_torchscript_loads_without_the_project(residual, tmp_path):
    subnet = residual.extract(_archs(residual.space, 1, seed=11)[2]).eval()
    path, x = tmp_path / "vit.pt", _images(2, seed=6)
    torch.jit.script(subnet).save(str(path))
    torch.save(x, tmp_path / "x.pt")
    proc = subprocess.run([sys.executable, "-I", "-c", LOADER, str(path), str(tmp_path / "x.pt"),
                           str(tmp_path / "y.pt")], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with torch.no_grad():
        torch.testing.assert_close(torch.load(tmp_path / "y.pt"), subnet(x), atol=1e-5, rtol=1e-5)
