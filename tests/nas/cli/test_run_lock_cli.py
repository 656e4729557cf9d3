"""A second writer of a run directory (or of a table being profiled) gets one line and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager

import pytest
from typer.testing import CliRunner

from nas import api
from nas.cli import app
from nas.lock import LOCK_NAME
from nas.train import train

runner = CliRunner()
TINY = "synthetic:n_train=72,n_test=16,classes=10,size=32,seed=0"


@contextmanager
def held_by_another_process(lock_file, what):
    """Another process holding the lock until we let it go (it waits on its stdin): no timing involved."""
    code = ("import sys; from nas.lock import RunLock\n"
            "with RunLock(sys.argv[1], sys.argv[2]):\n print('held', flush=True); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(lock_file), str(what)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc.pid
    finally:
        proc.stdin.close()
        proc.wait()


def _search_run(tmp_path):
    run = tmp_path / "run"
    api.search(space="ofa-mbv3", target="macs", objectives=["macs", "params"], predictor="none", budget=20,
               searcher="random", out=run)
    return run, ["search", "--resume", str(run)]


def _train_run(tmp_path):
    run = tmp_path / "run"
    train("ofa-mbv3-cifar", "deps", TINY, epochs=1, out=run, batch_size=8, steps_per_epoch=1, eval_every=0)
    return run, ["train", "--resume", str(run), "--no-progress"]


def _new_train_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    return run, ["train", "--space", "ofa-mbv3-cifar", "--strategy", "deps", "--data", TINY, "--epochs", "1",
                 "--batch-size", "8", "--steps-per-epoch", "1", "--out", str(run), "--no-progress"]


@pytest.mark.parametrize("make", [_search_run, _train_run, _new_train_run], ids=["search", "train", "new-train"])
def test_a_second_writer_of_a_run_directory_is_one_line(tmp_path, make):
    run, args = make(tmp_path)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    with held_by_another_process(run / LOCK_NAME, run) as pid:
        result = runner.invoke(app, args)
        before[LOCK_NAME] = (run / LOCK_NAME).read_bytes()
        assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and lines == [f"error: {run} is in use by another nas process (PID {pid}); "
                                               "wait for it to finish or stop it"], result.output


def test_a_second_profiler_of_a_table_is_one_line(tmp_path):
    table = tmp_path / "t.csv"
    with held_by_another_process(tmp_path / ".t.csv.lock", table) as pid:
        result = runner.invoke(app, ["latency", "profile", "--space", "ofa-mbv3-cifar", "--out", str(table),
                                     "--calibrate", "0", "--no-progress"])
    assert result.exit_code == 2 and f"{table} is in use by another nas process (PID {pid})" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing measured, no journal
