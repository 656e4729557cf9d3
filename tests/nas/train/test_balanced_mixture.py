"""Balanced Mixture of SuperNets, its single-path baseline and stand-alone training, through the loop."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from nas.errors import CheckpointError, InvalidInput
from nas.train import create_strategy, train
from search_spaces import get_space
from supernets import create_supernet
from supernets.checkpoint import read_checkpoint, save_checkpoint

from .conftest import TINY

SPACE = get_space("resnet20-pooling")
STEPS = {"batch_size": 8, "steps_per_epoch": 2, "eval_every": 0, "holdout": 24}


def _state(path) -> dict:
    return read_checkpoint(path)["state_dict"]


def _equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_temperature_and_learning_rate_follow_the_epochs():
    bms = create_strategy("balanced-mixture", SPACE, 100, 10)
    assert [bms.temperature(t) for t in (0, 9, 10, 99)] == [1.0, 1.0, 12.0, 100.0]
    assert bms.lr_factor(0) == 1.0 and bms.lr_factor(9) == 1.0  # constant within an epoch, as BMS steps it
    assert bms.lr_factor(99) == pytest.approx(0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * 0.9)))
    assert bms.config_defaults["holdout"] == 0.5 and bms.config_defaults["lr"] == 0.1


def test_members_are_drawn_from_the_balanced_assignment():
    bms = create_strategy("balanced-mixture", SPACE, 100, 10, members=4)
    mix = create_supernet(SPACE, members=4)
    bms.bind(mix)
    first = [bms.plan(0, np.random.default_rng([0, k]))[0].member for k in range(400)]
    assert set(first) == {0, 1, 2, 3} and max(np.bincount(first)) < 160  # T=1, W=1: uniform
    rows = mix.arch_rows([{"pool": list(p)} for p in SPACE.choice("pool").options])
    favourite = rows % 4  # each member best on a quarter of the placements: already balanced
    mix.scores.fill_(0.5)
    mix.scores[torch.from_numpy(rows), torch.from_numpy(favourite)] = 0.9
    for k in range(100):
        task = bms.plan(99, np.random.default_rng([1, k]))[0]
        assert task.member == favourite[mix.arch_rows([task.arch])[0]]  # T=100: the favourite, nearly always
    assert float(mix.temperature) == 100.0


def test_single_path_is_the_mixture_code_with_one_member(tmp_path):
    spos = train(SPACE.name, "spos", TINY, epochs=1, out=tmp_path / "spos", **STEPS)
    one = train(SPACE.name, "balanced-mixture", TINY, epochs=1, out=tmp_path / "one",
                strategy_options={"members": 1}, **STEPS)
    assert _equal(_state(spos.checkpoint), _state(one.checkpoint))
    assert read_checkpoint(spos.checkpoint)["options"] == {}


class Stop(Exception):
    pass


def test_mixture_learns_scores_and_resumes_exactly(tmp_path):
    settings = dict(STEPS, strategy_options={"members": 2})
    full = train(SPACE.name, "balanced-mixture", TINY, epochs=2, out=tmp_path / "full", **settings)
    ckpt = read_checkpoint(full.checkpoint)
    assert ckpt["options"] == {"members": 2}
    scores = ckpt["state_dict"]["scores"]
    assert scores.shape == (36, 2) and (scores < 1).sum() >= 3  # each step scored its member on held-out images
    assert float(ckpt["state_dict"]["temperature"]) == 100.0
    assert list(full.metrics["temperature"]) == [1.0, 100.0]

    def stop_after_first(row):
        if row["epoch"] == 0:
            raise Stop

    with pytest.raises(Stop):
        train(SPACE.name, "balanced-mixture", TINY, epochs=2, out=tmp_path / "cut", on_epoch=stop_after_first,
              **settings)
    resumed = train(resume=tmp_path / "cut")
    assert _equal(_state(full.checkpoint), _state(resumed.checkpoint))
    drop = ["images_per_s", "epoch_s"]
    pd.testing.assert_frame_equal(full.metrics.drop(columns=drop), resumed.metrics.drop(columns=drop))


def test_standalone_trains_one_subnet_and_fine_tunes_a_mixture_member(tmp_path):
    torch.manual_seed(0)
    mix = create_supernet(SPACE, members=2)
    arch = {"pool": [5, 3, 2]}
    mix.record_score(arch, 0, 0.0, decay=0.0)  # member 1 owns [5, 3, 2]
    mix.temperature.fill_(100.0)
    save_checkpoint(mix, tmp_path / "mix.pt")
    run = train(SPACE.name, "standalone", TINY, epochs=1, out=tmp_path / "ft", init=str(tmp_path / "mix.pt"),
                arch=arch, **STEPS)
    assert set(run.metrics["phase"]) == {"standalone"}
    tuned = _state(run.checkpoint)
    start = mix.members[1].state_dict()
    assert tuned.keys() == start.keys() and not torch.equal(tuned["stem.conv.weight"], start["stem.conv.weight"])
    assert run.config.arch == arch
    with pytest.raises(CheckpointError, match="mixture of 2 supernets"):
        train(SPACE.name, "spos", TINY, epochs=1, out=tmp_path / "spos", init=str(tmp_path / "mix.pt"), **STEPS)
    with pytest.raises(InvalidInput, match="--arch"):
        train(SPACE.name, "standalone", TINY, epochs=1, out=tmp_path / "none", **STEPS)
    assert not (tmp_path / "spos").exists() and not (tmp_path / "none").exists()


@pytest.mark.parametrize("args, message", [
    (["--strategy", "balanced-mixture", "-o", "members=0"], "members=0 must be from 1 (a single supernet) to 64"),
    (["--strategy", "balanced-mixture", "-o", "members=100000"], "members=100000 must be from 1"),
    (["--strategy", "standalone", "--arch", "ARCH"], "summing to 10"),
])
def test_cli_bad_mixture_input_is_one_line_and_exit_2(tmp_path, args, message):
    bad = tmp_path / "arch.json"
    bad.write_text('{"pool": [4, 4, 4]}')
    args = [str(bad) if a == "ARCH" else a for a in args]
    proc = subprocess.run([sys.executable, "-m", "nas", "train", "--space", SPACE.name, "--epochs", "1", "--data",
                           TINY, "-b", "8", "--out", str(tmp_path / "run"), *args], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_strategies_list_their_training_recipe():
    proc = subprocess.run([sys.executable, "-m", "nas", "strategies", "--json"], capture_output=True, text=True,
                          timeout=120)
    info = {s["name"]: s for s in json.loads(proc.stdout)}
    assert info["balanced-mixture"]["training_defaults"]["lr"] == 0.1
    assert info["balanced-mixture"]["defaults"]["members"] == 4 and info["deps"]["training_defaults"] == {}
