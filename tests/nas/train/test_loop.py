"""Tiny in-process training runs with every strategy: they learn, checkpoint, and resume exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from nas.data import load_images
from nas.train import STRATEGIES, RunFiles, list_strategies, train
from nas.train.state import TRAIN_FORMAT
from search_spaces import get_space
from supernets.checkpoint import load_supernet, read_checkpoint

from .conftest import QUICK, TINY


class Stop(Exception):
    pass


def _weights(path) -> dict:
    return read_checkpoint(path)["state_dict"]


def _assert_same_weights(a, b) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), f"{key} differs"


@pytest.mark.parametrize("strategy", list_strategies())
def test_training_run_writes_everything_and_resumes_exactly(strategy, tmp_path):
    settings = dict(QUICK, eval_every=2, eval_images=8, bn_images=16)
    space = "ofa-mbv3-cifar"
    if strategy == "balanced-mixture":  # a mixture indexes its archs: a space small enough to enumerate
        space, settings["strategy_options"] = "resnet20-pooling", {"members": 2}
    if STRATEGIES.get(strategy).takes_arch:
        settings["arch"] = get_space(space).extremes()[1]
    full = train(space, strategy, TINY, epochs=2, out=tmp_path / "full", **settings)
    files = RunFiles(full.run_dir)
    for path in (files.config, files.metrics, files.plot, files.checkpoint, files.final, files.summary):
        assert path.is_file(), path
    df = pd.read_csv(files.metrics)
    assert list(df["epoch"]) == [0, 1] and np.isfinite(df["loss"]).all()
    assert {"phase", "lr", "train_acc", "images_per_s"} <= set(df.columns)
    assert 0 <= df["val_acc_max"].iloc[-1] <= 100 and np.isnan(df["val_acc_max"].iloc[0])
    ckpt = read_checkpoint(files.checkpoint)  # weights_only=True
    training = ckpt["extra"]["training"]
    assert training["format"] == TRAIN_FORMAT and training["epoch"] == 2 and training["step"] == 4
    assert training["strategy"]["name"] == strategy and training["phase"] == df["phase"].iloc[-1]
    supernet, meta = load_supernet(files.final)  # evaluation and export load the final weights directly
    assert meta["space"] == space and supernet.eval()(supernet.dummy_input(2)).shape == (2, 10)

    def stop_after_first(row):
        if row["epoch"] == 0:
            raise Stop

    with pytest.raises(Stop):
        train(space, strategy, TINY, epochs=2, out=tmp_path / "cut", on_epoch=stop_after_first, **settings)
    assert len(pd.read_csv(tmp_path / "cut" / "metrics.csv")) == 1
    resumed = train(resume=tmp_path / "cut")
    assert resumed.resumed_from_epoch == 1
    _assert_same_weights(files.final, resumed.checkpoint)
    pd.testing.assert_frame_equal(df.drop(columns=["images_per_s", "epoch_s", "eval_s"]),
                                  resumed.metrics.drop(columns=["images_per_s", "epoch_s", "eval_s"]))


def test_training_lowers_the_loss(tmp_path):
    """Sanity: on the learnable synthetic set, loss falls and the max subnet beats chance."""
    result = train("ofa-mbv3-cifar", "deps", TINY, epochs=2, out=tmp_path / "run", batch_size=8,
                   steps_per_epoch=6, lr=0.1, eval_every=2, eval_images=0, bn_images=64, holdout=16)
    df = result.metrics
    assert df["loss_max"].iloc[-1] < df["loss_max"].iloc[0]
    assert df["val_acc_max"].iloc[-1] > 20  # chance is 10 %


def test_augmented_global_batch_is_split_across_ranks():
    """Rank r of k trains exactly rows r*B/k.. of the batch a single process would see."""
    from nas.data import augment

    x = load_images(TINY).x_train[:8]
    whole = augment(x, torch.Generator().manual_seed(5))
    again = augment(x, torch.Generator().manual_seed(5))
    assert torch.equal(whole, again) and whole.shape == x.shape and not torch.equal(whole, x)


def test_reflect_padding_is_recorded_and_changes_what_is_trained(tmp_path):
    """--pad-mode reflect reaches the augmentation (other weights than zeros from one seed), is recorded in
    config.json and resumes with it; a config.json from before the option reads as zeros."""
    import json

    from nas.train.config import TrainConfig

    settings = dict(QUICK, epochs=1, steps_per_epoch=2, eval_every=0)
    zeros = train("resnet20-pooling", "spos", TINY, out=tmp_path / "zeros", **settings)
    reflect = train("resnet20-pooling", "spos", TINY, out=tmp_path / "reflect", pad_mode="reflect", **settings)
    assert json.loads((reflect.run_dir / "config.json").read_text())["train"]["pad_mode"] == "reflect"
    wz, wr = _weights(zeros.checkpoint), _weights(reflect.checkpoint)
    assert any(not torch.equal(wz[k], wr[k]) for k in wz)
    old = zeros.config.to_dict()
    del old["pad_mode"]
    assert TrainConfig.from_dict(old).pad_mode == "zeros"
