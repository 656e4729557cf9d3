"""A sweep's best.json names a `nas train` line that nas train accepts, with every swept value in it."""

from __future__ import annotations

import shlex

import typer

from nas.cli import app
from nas.train.config import TrainConfig
from nas.tune.report import _train_command

DATA = "synthetic:n_train=48,n_test=8,classes=10,size=32,seed=1"


def test_the_repeat_command_parses_as_nas_train_with_the_swept_values():
    base = TrainConfig.for_strategy("deps", space="ofa-mbv3-cifar-small", data=DATA, epochs=3, steps_per_epoch=4,
                                    eval_images=16, strategy_options={"n_random": 1}).to_dict()
    line = _train_command(base, {"lr": 0.02, "label_smoothing": 0.05, "batch_size": 16}, {"shrink_start": 0.4})
    words = shlex.split(line)
    assert words[:2] == ["nas", "train"]
    train = typer.main.get_command(app).commands["train"]
    params = train.make_context("train", words[2:]).params  # every flag is one nas train has
    assert (params["lr"], params["label_smoothing"], params["batch_size"]) == (0.02, 0.05, 16)
    assert (params["steps"], params["eval_images"], params["epochs"]) == (4, 16, 3)
    assert sorted(params["option"]) == ["n_random=1", "shrink_start=0.4"]
