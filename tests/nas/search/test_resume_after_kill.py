"""Kill a `nas search` process mid-run (SIGKILL), resume it, and end exactly where an uninterrupted run ends."""

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

from nas import api
from nas.search import SEARCHERS

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")

ARGS = ["--space", "ofa-mbv3", "--target", "macs", "--objective", "macs", "--objective", "params",
        "--predictor", "none", "--seed", "5", "--no-progress"]
#: budgets large enough that the process is still running when the first generations land
CASES = {"nsga2": 2500}  # replayed on resume: the harder case; every searcher is resumed in-process below


def nas(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nas", "search", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def rows(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n") - 1
    except FileNotFoundError:
        return -1


@pytest.mark.parametrize("searcher", sorted(CASES))
def test_kill_then_resume_loses_nothing_and_ends_like_an_uninterrupted_run(searcher, tmp_path):
    budget = str(CASES[searcher])
    common = [*ARGS, "--searcher", searcher, "--budget", budget]
    reference = nas(*common, "--out", "full", cwd=tmp_path)  # runs beside the one we kill

    victim = nas(*common, "--out", "killed", cwd=tmp_path)
    results = tmp_path / "killed" / "results.csv"
    deadline = time.monotonic() + 120
    while rows(results) < 500 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert victim.poll() is None, f"the run ended before it could be killed: {victim.stderr.read()}"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (tmp_path / "killed" / "best.json").exists()

    # what the killed run had completed: rows counted by its last state (a torn generation may follow)
    state = json.loads((tmp_path / "killed" / "state.json").read_text())
    lines = results.read_text().splitlines(keepends=True)
    completed = "".join(lines[: state["rows"] + 1])
    assert state["rows"] > 0 and state["generation"] > 0

    resumed = subprocess.run([sys.executable, "-m", "nas", "search", "--resume", "killed", "--no-progress"],
                             cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert reference.wait() == 0, reference.stderr.read()

    final = results.read_text()
    assert final.startswith(completed)  # no evaluated subnet lost or changed
    assert final == (tmp_path / "full" / "results.csv").read_text()
    for name in ("pareto.csv", "results_dynast.csv"):
        killed, full = (pd.read_csv(tmp_path / d / name).drop(columns=["Date"], errors="ignore")
                        for d in ("killed", "full"))
        pd.testing.assert_frame_equal(killed, full)
    best = [json.loads((tmp_path / d / "best.json").read_text()) for d in ("killed", "full")]
    assert best[0]["best"] == best[1]["best"]
    assert len(pd.read_csv(results)) == int(budget)


@pytest.mark.parametrize("searcher", [n for n in SEARCHERS.names() if n != "optuna"])  # optuna: test_optuna_storage
def test_every_searcher_resumes_its_run_directory(searcher, tmp_path):
    options = {"random": {"batch_size": 10}, "linas": {"population": 10, "predictor": "ridge", "inner_evals": 400},
               # BO proposals on ofa-mbv3 take seconds: one after the random design (test_bayesian resumes mid-BO)
               "gp": {"n_startup_trials": 49, "mc_samples": 16}, "botorch": {"n_startup_trials": 49, "mc_samples": 16,
                                                                            "raw_samples": 32, "num_restarts": 2,
                                                                            "fit_iterations": 30}}
    setup = dict(space="ofa-mbv3", target="macs", objectives=["macs", "params"], predictor="none", searcher=searcher,
                 seed=3, budget=50, searcher_options=options.get(searcher, {"population": 10}))
    api.search(**setup, generations=2, out=tmp_path / "part")
    resumed = api.search(resume=tmp_path / "part", generations=10**6)  # lift the recorded cap of 2
    full = api.search(**setup, out=tmp_path / "full")
    pd.testing.assert_frame_equal(resumed.results, full.results)
    assert (tmp_path / "part" / "results.csv").read_text() == (tmp_path / "full" / "results.csv").read_text()
