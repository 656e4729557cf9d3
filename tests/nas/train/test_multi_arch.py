"""Multi-architecture sampling (ViT-ResNAS): the strategy's plans and progressive unlocking, the
several-archs-per-pass step on MultiArch and on plain (CNN) supernets, and exact resume."""

from __future__ import annotations

import math
import shutil
from typing import Sequence

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from nas.cli import app
from nas.data import resize
from nas.errors import InvalidInput
from nas.train import TrainConfig, create_strategy, train
from nas.train.step import run_passes, split_sizes
from nas.train.strategies import SubnetTask
from nas.train.strategies.base import max_arch
from nas.train.strategies.multi_arch import largest_first
from search_spaces import get_space
from supernets import MultiArch, create_supernet
from supernets.vit_resnas import ViTResNASSupernet

from .conftest import QUICK, TINY
from .test_loop import Stop, _assert_same_weights

VIT = get_space("vit-resnas-cifar")
MBV3 = get_space("ofa-mbv3-cifar")


def make(space=VIT, total: int = 100, per_epoch: int = 10, **options):
    return create_strategy("multi-arch", space, total, per_epoch, **options)


# ------------------------------------------------------------------------------- the strategy
def test_a_step_trains_k_subnets_in_one_task():
    s = make(archs_per_step=4)
    for t in (0, 50, 99):
        (task,) = s.plan(t, np.random.default_rng([0, t]))
        assert len(task.archs) == 4 and task.arch == task.archs[0] and task.role == "sampled"
        assert all(VIT.validate(a) == a for a in task.archs) and task.label_weight == 1 and not task.kd_weight
    (single,) = make(archs_per_step=1).plan(60, np.random.default_rng(0))
    assert single.archs == () and single.subnets == (single.arch,)


@pytest.mark.parametrize("batch, options, k", [(1024, {}, 16), (128, {}, 2), (64, {}, 1), (8, {}, 1),
                                              (64, {"example_per_arch": 16}, 4), (8, {"archs_per_step": 3}, 3)])
def test_subnets_per_step_default_to_the_batch_over_example_per_arch(batch, options, k):
    cfg = TrainConfig.for_strategy("multi-arch", space="vit-resnas-cifar", data=TINY, epochs=1, batch_size=batch,
                                   strategy_options=options)
    assert cfg.strategy_options["archs_per_step"] == k
    assert TrainConfig.from_dict(cfg.to_dict()).strategy_options == cfg.strategy_options  # resume: the same


def test_deits_recipe_is_the_default():
    cfg = TrainConfig.for_strategy("multi-arch", space="vit-resnas-cifar", data=TINY, epochs=1)
    assert (cfg.optimizer, cfg.weight_decay, cfg.label_smoothing) == ("adamw", 0.05, 0.1)
    assert cfg.lr == pytest.approx(5e-4 * cfg.batch_size / 512)
    assert (cfg.mixup, cfg.cutmix, cfg.mixup_switch_prob) == (0.8, 1.0, 0.5)
    s = make(total=300)  # DeiT: 5 of 300 epochs of linear warm-up, then cosine to 0
    assert [s.lr_factor(t) for t in range(5)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert s.lr_factor(299) < 1e-3


def test_options_are_listed_largest_first_by_the_spaces_extremes():
    order = largest_first(VIT)
    assert order["embed1"] == (64, 56, 48, 44, 40) and order["keep"] == (True, False)
    assert largest_first(get_space("ofa-mbv3-cifar+q"))["wmode"][0] == "symmetric"
    pooling = get_space("resnet20-pooling")
    big, small = pooling.extremes()
    assert largest_first(pooling)["pool"][0] == tuple(big["pool"]) and largest_first(pooling)["pool"][-1] == tuple(
        small["pool"])
    for space in (VIT, MBV3):
        big = space.extremes()[0]
        assert {k: v[0] for k, v in largest_first(space).items()} == {
            k: (v[0] if isinstance(v, list) else v) for k, v in big.items() if k in largest_first(space)}


def test_unlocking_is_monotone_from_the_largest_subnet_to_every_option():
    s = make(total=200, per_epoch=10, archs_per_step=6, warmup_epochs=0.25)  # 50 warm-up steps
    assert s.warmup_steps == 50 and s.phase(49) == "warmup" and s.phase(50) == "multi-arch"
    order = largest_first(VIT)
    previous = {k: 0 for k in order}
    for t in range(200):
        allowed = s.allowed(t)
        for key, opts in allowed.items():
            assert opts == order[key][:len(opts)] and len(opts) >= previous[key]
            if t < 50:
                assert len(opts) == max(1, math.ceil(t / 50 * len(order[key])))
            else:
                assert len(opts) == len(order[key])
            previous[key] = len(opts)
        for arch in s.plan(t, np.random.default_rng([1, t]))[0].archs:
            for key, value in arch.items():
                if key in allowed:
                    values = value if isinstance(value, list) else [value]
                    assert set(values) <= set(allowed[key]), (t, key)
    assert all(a == max_arch(VIT) for a in s.plan(0, np.random.default_rng(0))[0].archs)
    assert len(s.allowed(25)["keep"]) == 1 and len(s.allowed(26)["keep"]) == 2  # removed once past half
    seen = {k: set() for k in order}
    for t in range(50, 80):
        for arch in s.plan(t, np.random.default_rng([2, t]))[0].archs:
            for key in order:
                seen[key] |= set(arch[key] if isinstance(arch[key], list) else [arch[key]])
    assert {k: set(v) for k, v in order.items()} == seen  # after warm-up every option trains


def test_warmup_is_a_share_or_a_whole_number_of_epochs():
    assert make(total=100, per_epoch=10, warmup_epochs=3).warmup_steps == 30
    assert make(total=100, per_epoch=10, warmup_epochs=0.15).warmup_steps == 15
    s = make(total=100, per_epoch=10, warmup_epochs=0)
    assert s.warmup_steps == 0 and s.phase(0) == "multi-arch" and s.allowed(0) == largest_first(VIT)
    assert make(total=100, per_epoch=10, warmup_epochs=50).warmup_steps == 100  # capped at the run


def test_a_steps_subnets_cover_the_allowed_options_evenly():
    s = make(archs_per_step=8, warmup_epochs=0)
    archs = s.plan(70, np.random.default_rng(4))[0].archs
    for key, n in (("embed1", 5), ("heads1", 4), ("mlp1", 7)):
        values = [a[key] if not isinstance(a[key], list) else a[key][0] for a in archs]
        counts = np.unique(values, return_counts=True)[1]
        assert len(counts) == min(n, 8) and counts.max() - counts.min() <= 1


def test_plans_depend_only_on_step_and_seed():
    a, b = make(archs_per_step=4), make(archs_per_step=4)
    for t in (0, 7, 99):
        assert a.plan(t, np.random.default_rng([5, t])) == b.plan(t, np.random.default_rng([5, t]))
    assert a.plan(50, np.random.default_rng(1)) != a.plan(50, np.random.default_rng(2))


@pytest.mark.parametrize("option, value", [("archs_per_step", -1), ("example_per_arch", 0), ("warmup_epochs", 1.5),
                                           ("warmup_epochs", -0.1), ("lr_warmup", 1.0), ("archs_per_step", 1.5),
                                           ("execution", "fused"), ("execution", 1)])
def test_bad_options_are_one_line_errors_naming_the_option(option, value):
    with pytest.raises(InvalidInput, match=option) as info:
        make(**{option: value})
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------- the step
class _ManyBySlices(MultiArch):
    """Test double: a MultiArch supernet that runs each slice through its arch in turn (what a masked
    forward must equal), counting set_active_many calls."""

    calls = 0

    def set_active_many(self, archs: Sequence, sizes: Sequence[int], masks: bool = False):
        _ManyBySlices.calls += 1
        self._many = ([self.space.validate(a) for a in archs], list(sizes))
        return self._many[0]

    def set_active(self, arch, **kw):
        self._many = None
        return super().set_active(arch, **kw)

    def forward(self, x):
        many = getattr(self, "_many", None)
        if not many:
            return super().forward(x)
        outs, start = [], 0
        for arch, size in zip(*many):
            super().set_active(arch)
            outs.append(super().forward(x[start:start + size]))
            start += size
        self._many = many
        return torch.cat(outs)


def _supernet(space: str, multi: bool = False):
    torch.manual_seed(0)
    net = create_supernet(get_space(space)).train()
    if multi:
        cls = type("Many" + type(net).__name__, (_ManyBySlices, type(net)), {})
        many = cls.__new__(cls)
        many.__dict__.update(net.__dict__)  # the same modules and parameters (nn.Module keeps them there)
        net = many
    return net


def _grads(net) -> dict:
    return {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}


def _batch(n: int, size: int = 32, classes: int = 10):
    g = torch.Generator().manual_seed(3)
    return torch.randn(n, 3, size, size, generator=g), torch.randint(0, classes, (n,), generator=g)


def _reference(net, archs, images, labels, smoothing):
    """One full-batch backward of the share-weighted per-sub-batch losses."""
    net.zero_grad(set_to_none=True)
    total, start, n = 0.0, 0, len(images)
    for arch, size in zip(archs, split_sizes(n, len(archs))):
        net.set_active(arch)
        x = resize(images[start:start + size], net.input_size(arch))
        total = total + size / n * F.cross_entropy(net(x), labels[start:start + size], label_smoothing=smoothing)
        start += size
    total.backward()
    return float(total.detach()), _grads(net)


@pytest.mark.parametrize("space, n", [("resnet20-pooling", 8), ("ofa-mbv3-cifar-small", 7)])
def test_plain_supernets_train_each_sub_batch_with_the_mean_loss_gradient(space, n):
    net = _supernet(space)
    sp = get_space(space)
    archs = sp.decode_many(sp.sample(3, np.random.default_rng(1)))
    images, labels = _batch(n)
    torch.manual_seed(1)  # dropout
    value, expected = _reference(net, archs, images, labels, 0.1)
    net.zero_grad(set_to_none=True)
    torch.manual_seed(1)
    (result,) = run_passes(net, net, [SubnetTask(archs[0], "sampled", archs=tuple(archs))], images, labels, None, 0.1)
    assert result.loss == pytest.approx(value, rel=1e-5)
    got = _grads(net)
    assert got.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-4, atol=1e-6)
    assert net.active_arch == sp.validate(archs[0])  # left on the task's arch


def test_a_multi_arch_supernet_runs_the_archs_in_one_forward():
    plain, multi = _supernet("resnet20-pooling"), _supernet("resnet20-pooling", multi=True)
    sp = plain.space
    archs = sp.decode_many(sp.sample(4, np.random.default_rng(2)))
    images, labels = _batch(8)
    task = SubnetTask(archs[0], "sampled", archs=tuple(archs))
    _ManyBySlices.calls = 0
    (a,) = run_passes(plain, plain, [task], images, labels, None, 0.1)
    (b,) = run_passes(multi, multi, [task], images, labels, None, 0.1)
    assert _ManyBySlices.calls == 1 and multi._many is None  # one forward; left in single-arch mode
    assert a.loss == pytest.approx(b.loss, rel=1e-5) and a.correct == b.correct
    ga, gb = _grads(plain), _grads(multi)
    for key in ga:
        torch.testing.assert_close(ga[key], gb[key], rtol=1e-4, atol=1e-6)


def test_archs_of_different_input_sizes_fall_back_to_sub_batches():
    net = _supernet("ofa-mbv3-cifar-small", multi=True)
    big, small = net.space.extremes()
    _ManyBySlices.calls = 0
    images, labels = _batch(4)
    run_passes(net, net, [SubnetTask(big, "sampled", archs=(big, small))], images, labels, None, 0.0)
    assert net.input_size(big) != net.input_size(small) and _ManyBySlices.calls == 0


def test_soft_targets_and_more_archs_than_samples():
    net = _supernet("resnet20-pooling")
    sp = net.space
    archs = sp.decode_many(sp.sample(5, np.random.default_rng(3)))
    images, labels = _batch(3)
    soft = F.one_hot(labels, 10).float()
    (hard,) = run_passes(net, net, [SubnetTask(archs[0], "sampled", archs=tuple(archs))], images, labels, None, 0.1)
    g_hard = _grads(net)
    net.zero_grad(set_to_none=True)
    (mixed,) = run_passes(net, net, [SubnetTask(archs[0], "sampled", archs=tuple(archs))], images, soft, None, 0.1)
    assert hard.loss == pytest.approx(mixed.loss, rel=1e-6) and hard.correct == mixed.correct
    for key, g in _grads(net).items():
        torch.testing.assert_close(g, g_hard[key])
    assert split_sizes(3, 5) == [1, 1, 1, 0, 0] and split_sizes(8, 4) == [2] * 4 and split_sizes(7, 3) == [3, 2, 2]


# --------------------------------------------------------------------------------- the loop
def test_multi_arch_runs_resume_exactly(tmp_path):
    settings = dict(QUICK, strategy_options={"archs_per_step": 4, "warmup_epochs": 1})
    full = train("ofa-mbv3-cifar", "multi-arch", TINY, epochs=2, out=tmp_path / "full", **settings)
    assert list(full.metrics["phase"]) == ["warmup", "multi-arch"]

    def stop_after_first(row):
        if row["epoch"] == 0:
            raise Stop

    with pytest.raises(Stop):
        train("ofa-mbv3-cifar", "multi-arch", TINY, epochs=2, out=tmp_path / "cut", on_epoch=stop_after_first,
              **settings)
    resumed = train(resume=tmp_path / "cut")
    _assert_same_weights(full.checkpoint, resumed.checkpoint)
    drop = ["images_per_s", "epoch_s"]
    assert full.metrics.drop(columns=drop).equals(resumed.metrics.drop(columns=drop))


@pytest.mark.parametrize("execution", (None, "sliced", "masks"))
def test_nas_train_on_vit_resnas_runs_each_step_in_one_multi_arch_forward(tmp_path, monkeypatch, execution):
    """``nas train --space vit-resnas-cifar --strategy multi-arch``: each step's subnets go through
    ``set_active_many`` once (one forward), sliced unless ``execution=masks``, on tiny synthetic data."""
    calls = []
    original = ViTResNASSupernet.set_active_many

    def counting(self, archs, sizes, masks=False):
        calls.append((list(sizes), masks))
        return original(self, archs, sizes, masks=masks)

    monkeypatch.setattr(ViTResNASSupernet, "set_active_many", counting)
    result = CliRunner().invoke(app, ["train", "--space", "vit-resnas-cifar", "--strategy", "multi-arch",
                                      "--data", TINY, "--epochs", "1", "--batch-size", "8", "--steps-per-epoch", "1",
                                      "--eval-every", "0", "--option", "archs_per_step=4",
                                      *(("--option", f"execution={execution}") if execution else ()), "--out",
                                      str(tmp_path / "run"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert calls == [([2, 2, 2, 2], execution == "masks")]
    row = pd.read_csv(tmp_path / "run" / "metrics.csv").iloc[-1]
    assert row["passes_per_step"] == 1 and np.isfinite(row["loss"])


def test_supernet_options_reach_the_supernet_and_its_checkpoint(tmp_path):
    """The plain reduction of the paper's ablation is its own space: ``--space vit-resnas-cifar-plain`` trains it
    and its checkpoint rebuilds it; ``--supernet-option residual_reduction=false`` is still taken where it agrees,
    and names the plain space where it does not. Unknown keys and non-boolean flags are one-line errors."""
    for option in ((), ("--supernet-option", "residual_reduction=false")):
        result = CliRunner().invoke(app, ["train", "--space", "vit-resnas-cifar-plain", "--strategy", "multi-arch",
                                          "--data", TINY, "--epochs", "1", "--batch-size", "8", "--steps-per-epoch",
                                          "1", "--eval-every", "0", *option, "--out", str(tmp_path / "run"),
                                          "--no-progress"])
        assert result.exit_code == 0, result.output
        ckpt = torch.load(tmp_path / "run" / "supernet.pt", weights_only=True)
        assert ckpt["space"] == "vit-resnas-cifar-plain" and ckpt["options"]["residual_reduction"] is False
        shutil.rmtree(tmp_path / "run")
    for option, match in (("foo=1", "supernet option 'foo' is not known for space vit-resnas-cifar; known: "
                                    "drop_path, residual_reduction"),
                          ("residual_reduction=2", "residual_reduction=2 must be true or false"),
                          ("residual_reduction=false", "supernet option residual_reduction=False builds the network "
                                                       "of space vit-resnas-cifar-plain, not vit-resnas-cifar: use "
                                                       "space vit-resnas-cifar-plain"),
                          ("drop_path=abc", "drop_path='abc' must be a number (default 0.1)")):
        bad = CliRunner().invoke(app, ["train", "--space", "vit-resnas-cifar", "--strategy", "multi-arch", "--data",
                                       TINY, "--epochs", "1", "--supernet-option", option, "--out",
                                       str(tmp_path / "bad")])
        assert bad.exit_code == 2 and match in " ".join(bad.output.split()), bad.output
        assert not (tmp_path / "bad").exists()


def test_more_archs_per_step_than_samples_is_refused():
    with pytest.raises(InvalidInput, match=r"archs_per_step=100 exceeds the batch of 8 samples; allowed: 1\.\.8"):
        TrainConfig.for_strategy("multi-arch", space="vit-resnas-cifar", data=TINY, epochs=1, batch_size=8,
                                 strategy_options={"archs_per_step": 100})
