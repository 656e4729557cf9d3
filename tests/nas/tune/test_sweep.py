"""A sweep end to end: trials are nas train runs, ASHA and Optuna drive them, and a sweep killed at any
moment resumes (Tune's restore) to a complete record with every trial once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from nas.errors import InvalidInput, RunDirectoryError
from nas.tune import tune_training

pytest.importorskip("ray.tune")
pytestmark = pytest.mark.slow

DATA = "synthetic:n_train=64,n_test=8,classes=10,size=32,seed=1"
TRIALS, EPOCHS = 3, 2
ARGS = ["--space", "ofa-mbv3-cifar", "--strategy", "deps", "--data", DATA, "--epochs", str(EPOCHS),
        "-p", "shrink_start=uniform(0.3,0.7)", "-p", "lr=loguniform(0.01,0.2)", "--trials", str(TRIALS),
        "--batch-size", "16", "--steps-per-epoch", "2", "--holdout", "16", "--eval-images", "16",
        "--bn-images", "16", "--no-progress"]
HANG_S = 600


def _nas(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nas", "tune", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True, **kwargs)


def _reported_epochs(sweep: Path) -> int:
    total = 0
    for metrics in sweep.glob("trials/*/metrics.csv"):
        total += max(0, len(metrics.read_text().splitlines()) - 1)
    return total


def test_a_killed_sweep_resumes_to_a_complete_record(tmp_path):
    sweep = tmp_path / "sweep"
    proc = _nas(*ARGS, "--out", str(sweep))
    deadline = time.time() + HANG_S
    while proc.poll() is None and _reported_epochs(sweep) < 1:  # kill once some trial has reported
        assert time.time() < deadline, "the sweep reported nothing"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver, its Ray and its trials, wherever they are
    proc.wait()

    resumed = _nas("--resume", str(sweep))
    out, _ = resumed.communicate(timeout=HANG_S)
    assert resumed.returncode == 0, out
    trials = pd.read_csv(sweep / "trials.csv")
    assert len(trials) == TRIALS and trials["trial_id"].is_unique
    assert {p.name for p in (sweep / "trials").iterdir()} == set(trials["trial_id"])
    for row in trials.itertuples():
        assert row.status == "finished" or row.status.startswith("stopped by ASHA"), row.status
        epochs = pd.read_csv(Path(row.run_dir) / "metrics.csv")["epoch"].tolist()
        assert epochs == list(range(row.epochs)), f"trial {row.trial_id} recorded epochs {epochs}"
        assert 0.3 <= row.shrink_start <= 0.7 and 0.01 <= row.lr <= 0.2
        assert (Path(row.run_dir) / "supernet.pt").is_file() == (row.status == "finished")
    best = json.loads((sweep / "best.json").read_text())
    assert best["trial_id"] == trials["trial_id"][0] and best["value"] == trials["val_acc_mean"].max()
    assert best["supernet"] == str(Path(best["run_dir"]) / "supernet.pt")
    assert best["train_settings"]["strategy_options"]["shrink_start"] == best["values"]["shrink_start"]
    assert (sweep / "tune.png").stat().st_size > 0


def test_sweep_input_errors_leave_nothing(tmp_path):
    base = dict(space="ofa-mbv3-cifar", strategy="deps", data=DATA, epochs=2, out=tmp_path / "s")
    with pytest.raises(InvalidInput, match="--metric"):
        tune_training(**base, params=["lr=uniform(0.01,0.1)"], metric="accuracy")
    with pytest.raises(InvalidInput, match="grace-period"):
        tune_training(**base, params=["lr=uniform(0.01,0.1)"], grace_period=3)
    with pytest.raises(InvalidInput, match="exceeds the"):
        tune_training(**base, params=["lr=uniform(0.01,0.1)"], batch_size=1000)
    with pytest.raises(InvalidInput, match="--workers"):
        tune_training(**base, params=["lr=uniform(0.01,0.1)"], workers=10_000)
    with pytest.raises(RunDirectoryError, match="not a sweep directory"):
        tune_training(resume=tmp_path)
    assert not (tmp_path / "s").exists()
