"""A training run directory has one writer, and ``--out`` never writes among files the engine did not write."""

from __future__ import annotations

import os

import pytest

from nas.errors import RunDirectoryError
from nas.lock import LOCK_NAME
from nas.train import train

from .conftest import TINY

ONE_STEP = {"batch_size": 8, "steps_per_epoch": 1, "eval_every": 0}


def _files(root) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_resume_while_the_run_trains_is_refused_and_changes_nothing(tmp_path):
    run = tmp_path / "run"
    refused = []

    def second_writer(metrics):
        before = _files(run)
        with pytest.raises(RunDirectoryError) as exc:
            train(resume=run)
        refused.append(str(exc.value))
        assert _files(run) == before

    train("ofa-mbv3-cifar", "deps", TINY, epochs=1, out=run, on_epoch=second_writer, **ONE_STEP)
    assert refused and f"{run} is in use by another nas process (PID {os.getpid()})" in refused[0]
    assert (run / "summary.json").is_file() and not (run / LOCK_NAME).exists()


def test_out_on_a_directory_of_the_users_files_is_refused_and_leaves_them(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("training.png", "supernet.pt", "summary.json", "metrics.csv"):
        (mine / name).write_text(f"the user's {name}")
    before = _files(mine)
    with pytest.raises(RunDirectoryError, match=r"--out .*mine is not empty \(it holds metrics.csv and 3 more\) "
                                                "and is not a run of nas train"):
        train("ofa-mbv3-cifar", "deps", TINY, epochs=1, out=mine, **ONE_STEP)
    assert _files(mine) == before
