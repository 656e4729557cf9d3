"""2-worker Ray Train runs (DDP on gloo): a worker is killed once Ray holds a reported checkpoint, Ray
restarts the group from it, and the run ends exactly as an uninterrupted 2-worker run does: the same
per-epoch losses and the same final supernet weights, bit for bit, wherever the kill lands."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pandas as pd
import pytest
import torch

from nas.train import train
from supernets.checkpoint import read_checkpoint

from .conftest import TINY

ray = pytest.importorskip("ray")
SETTINGS = {"batch_size": 8, "steps_per_epoch": 3, "eval_every": 0}
EPOCHS = 5  # 15 steps: DεpS trains the full model alone until step 8, then shrinks
HANG_S = 1800  # deadlines only guard against a hung run: a loaded 2-core machine took 14 min per run
TIMING = ["images_per_s", "epoch_s"]  # the only metrics that may differ between two identical runs


def _start(run) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def fit():
        try:
            outcome["result"] = train("ofa-mbv3-cifar", "deps", TINY, epochs=EPOCHS, out=run, workers=2, **SETTINGS)
        except BaseException as exc:  # surfaced in the main thread
            outcome["error"] = exc

    thread = threading.Thread(target=fit, daemon=True)
    thread.start()
    return thread, outcome


def _finish(thread: threading.Thread, outcome: dict, what: str):
    thread.join(timeout=HANG_S)
    assert not thread.is_alive(), f"{what} did not finish within {HANG_S} s"
    assert "error" not in outcome, outcome.get("error")
    return outcome["result"]


def _ray_has_checkpoint(run) -> bool:
    snapshot = run / "ray" / "checkpoint_manager_snapshot.json"
    try:
        return bool(json.loads(snapshot.read_text()).get("checkpoint_results"))
    except (OSError, ValueError):
        return False


def _worker(run, rank: int) -> dict:
    return json.loads((run / "workers" / f"rank{rank}.json").read_text())


@pytest.mark.slow
def test_two_ray_workers_survive_a_killed_worker(tmp_path):
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        reference = _finish(*_start(tmp_path / "uninterrupted"), "the uninterrupted Ray run")

        run = tmp_path / "killed"
        thread, outcome = _start(run)
        deadline = time.time() + HANG_S
        while thread.is_alive() and not _ray_has_checkpoint(run):  # Ray polls the workers every 2 s
            assert time.time() < deadline, "the Ray run registered no checkpoint"
            time.sleep(0.1)
        victim = None
        if thread.is_alive():
            victim = _worker(run, 1)["pid"]
            try:
                os.kill(victim, signal.SIGKILL)  # in whatever epoch the run has reached, or after the last
            except ProcessLookupError:
                pass  # the group had already finished: the run is simply uninterrupted
        result = _finish(thread, outcome, "the Ray run with a killed worker")
    finally:
        ray.shutdown()
    assert not ray.is_initialized()

    ranks = [_worker(run, 0), _worker(run, 1)]
    if victim is not None and ranks[1]["pid"] != victim:  # a new group, from a checkpoint Ray had registered
        assert 1 <= ranks[0]["start_epoch"] == ranks[1]["start_epoch"] <= EPOCHS
    for r in (reference, result):
        assert list(r.metrics["epoch"]) == list(range(EPOCHS)) and r.checkpoint.is_file()
    assert set(reference.metrics["phase"]) == {"full-warmup", "shrinking"}

    # exact: every step is seeded from (seed, step) and the checkpoint holds the weights, BN buffers,
    # optimizer, scheduler and RNG states; the restarted rank 0 drops metric rows past the checkpoint
    pd.testing.assert_frame_equal(result.metrics.drop(columns=TIMING), reference.metrics.drop(columns=TIMING),
                                  check_exact=True)
    ours, theirs = (read_checkpoint(r.checkpoint)["state_dict"] for r in (result, reference))
    assert ours.keys() == theirs.keys()
    for key in theirs:
        assert torch.equal(ours[key], theirs[key]), f"{key} differs from the uninterrupted run's"
