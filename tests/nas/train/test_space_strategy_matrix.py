"""Every space with a supernet x every training strategy: two optimizer steps on synthetic images (at the
space's smallest resolution), through nothing but the structure contract; and OFA-ResNet50's CIFAR
variant trains, resumes exactly and evaluates like OFA-MobileNetV3's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from nas.errors import NotSupported
from nas.evaluate import evaluate_checkpoint
from nas.train import STRATEGIES, list_strategies, train
from search_spaces import ShrinkingOrder, get_space
from supernets import list_supernets
from supernets.checkpoint import read_checkpoint
from supernets.mixture import MAX_MIXTURE_ARCHS
from tests.matrix import matrix_spaces

from .conftest import TINY

STEPS = {"batch_size": 2, "steps_per_epoch": 2, "eval_every": 0}


def _smallest_resolution(name: str) -> str:
    space = get_space(name)
    if space.resolution_key is None:
        return name
    return f"{name}[{space.resolution_key}={min(space.choice(space.resolution_key).options)}]"


def _refusal(space, strategy: str) -> str | None:
    """What a strategy says about a space it cannot train (None: it trains it)."""
    if strategy == "balanced-mixture" and space.size > MAX_MIXTURE_ARCHS:
        return "more than the"
    if strategy == "progressive-shrinking" and not isinstance(space, ShrinkingOrder):
        return "no shrinking order"
    return None


@pytest.mark.parametrize("strategy", list_strategies())
@pytest.mark.parametrize("space", matrix_spaces(list_supernets()))
def test_two_steps_of_every_strategy_on_every_space(space, strategy, tmp_path):
    name = _smallest_resolution(space)
    fixed = {"arch": get_space(name).extremes()[1]} if STRATEGIES.get(strategy).takes_arch else {}
    refusal = _refusal(get_space(name), strategy)
    if refusal:
        with pytest.raises(NotSupported, match=refusal):
            train(name, strategy, TINY, epochs=1, out=tmp_path / "run", **STEPS)
        assert not (tmp_path / "run").exists()
        return
    result = train(name, strategy, TINY, epochs=1, out=tmp_path / "run", **STEPS, **fixed)
    row = result.metrics.iloc[-1]
    assert np.isfinite(row["loss"]) and row["passes_per_step"] >= 1
    assert read_checkpoint(result.checkpoint)["space"] == name


class Stop(Exception):
    pass


def test_resnet_cifar_trains_resumes_exactly_and_evaluates(tmp_path):
    # one epoch each of the full net, the first expand phase (channels sorted first) and the last width phase
    phases = {"phase_epochs": [1, 0, 0, 1, 0, 0, 1]}  # full, depth-1/2, expand-1/2, width-1/2: the declared order
    settings = dict(STEPS, steps_per_epoch=1, optimizer="adamw", lr=1e-3, weight_decay=0.05, strategy_options=phases)
    space = "ofa-resnet50-cifar[r=24]"
    full = train(space, "progressive-shrinking", TINY, epochs=3, out=tmp_path / "full", **settings)
    assert list(full.metrics["phase"]) == ["full", "expand-1", "width-2"]

    def stop_after_first(row):
        if row["epoch"] == 0:
            raise Stop

    with pytest.raises(Stop):
        train(space, "progressive-shrinking", TINY, epochs=3, out=tmp_path / "cut", on_epoch=stop_after_first,
              **settings)
    resumed = train(resume=tmp_path / "cut")
    a, b = read_checkpoint(full.checkpoint)["state_dict"], read_checkpoint(resumed.checkpoint)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    drop = ["images_per_s", "epoch_s"]
    pd.testing.assert_frame_equal(full.metrics.drop(columns=drop), resumed.metrics.drop(columns=drop))
    evaluated = evaluate_checkpoint(full.checkpoint, TINY, extremes=True, bn_images=4, eval_images=4, batch_size=4)
    assert len(evaluated.table) == 2 and evaluated.table["accuracy"].between(0, 100).all()
