"""Kill `nas train` mid-epoch, resume it, and end with exactly the weights of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import torch

from nas.train import train
from supernets.checkpoint import read_checkpoint

from .conftest import TINY

ARGS = ["--space", "ofa-mbv3-cifar", "--strategy", "deps", "--epochs", "2", "--data", TINY, "--batch-size", "8",
        "--steps-per-epoch", "3", "--eval-every", "0"]


def _nas(*args: str) -> list[str]:
    return [sys.executable, "-m", "nas", "train", *args, "--threads", "1", "--no-progress"]


def _rows(path) -> int:
    return len(pd.read_csv(path)) if path.exists() and path.stat().st_size else 0


def test_killed_run_resumes_to_the_uninterrupted_weights(tmp_path):
    run = tmp_path / "killed"
    proc = subprocess.Popen(_nas(*ARGS, "--out", str(run)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 240
        metrics = run / "metrics.csv"
        while not ((run / "checkpoints" / "last.pt").exists() and _rows(metrics) >= 1):  # epoch 1 checkpointed
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.time() < deadline, "training made no progress"
            time.sleep(0.05)
        epoch_s = float(pd.read_csv(metrics)["epoch_s"].iloc[0])
        time.sleep(0.3 * epoch_s)  # into the second epoch (the shrinking half: 4 passes per step, not 1)
        assert proc.poll() is None, "the run finished before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    done = _rows(metrics)
    assert done == 1 and not (run / "supernet.pt").exists()

    resumed = subprocess.run(_nas("--resume", str(run)), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    reference = train("ofa-mbv3-cifar", "deps", TINY, epochs=2, out=tmp_path / "reference", batch_size=8,
                      steps_per_epoch=3, eval_every=0)
    ours = read_checkpoint(run / "supernet.pt")["state_dict"]
    theirs = read_checkpoint(reference.checkpoint)["state_dict"]
    for key in theirs:
        assert torch.equal(ours[key], theirs[key]), f"{key} differs after resume"
    assert list(pd.read_csv(metrics)["epoch"]) == [0, 1]
    assert not list(run.rglob(".*.tmp*")), "a temporary file was left behind"
