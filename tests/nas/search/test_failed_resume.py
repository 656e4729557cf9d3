"""A resume that fails changes nothing in the run directory; the budget is bounded; a resume reads in chunks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nas import api
from nas.errors import RunDirectoryError
from nas.results.run_dir import RunDirectory
from nas.results.tables import genomes_from_results
from nas.search.assemble import build_problem
from nas.search.run import MAX_BUDGET, check_limits, restore_archive
from search_spaces.errors import InvalidInput

SETUP = dict(space="ofa-mbv3", target="macs", objectives=["macs", "params"], predictor="none", seed=4,
             searcher="nsga2", searcher_options={"population": 30})


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _unreproducible(run: Path) -> None:
    """A run directory whose saved searcher state the replay cannot reach (as another library version)."""
    state = json.loads((run / "state.json").read_text())
    state["searcher"]["replay"]["last_ask"] = "0" * 16
    (run / "state.json").write_text(json.dumps(state))


def test_a_resume_whose_replay_fails_leaves_the_run_directory_byte_identical(tmp_path):
    run = tmp_path / "run"
    api.search(**SETUP, budget=120, out=run)
    _unreproducible(run)
    with open(run / "results.csv", "a") as f:
        f.write('"ks:3,3')  # a row torn by a kill: dropped only once the resumed run saves its own rows
    before = _snapshot(run)
    for _ in range(2):
        with pytest.raises(RunDirectoryError, match="did not reproduce"):
            api.search(resume=run, budget=200)  # config.json would say 200 for a run of 120
        assert _snapshot(run) == before


def test_the_cli_exits_2_and_changes_nothing(tmp_path):
    run = tmp_path / "run"
    api.search(**SETUP, budget=90, out=run)
    _unreproducible(run)
    before = _snapshot(run)
    done = subprocess.run([sys.executable, "-m", "nas", "search", "--resume", str(run), "--budget", "150",
                           "--no-progress"], capture_output=True, text=True)
    assert done.returncode == 2 and "did not reproduce" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert _snapshot(run) == before


def test_a_successful_resume_records_the_new_budget(tmp_path):
    run = tmp_path / "run"
    api.search(**SETUP, budget=60, out=run)
    api.search(resume=run, budget=90)
    assert json.loads((run / "config.json").read_text())["budget"] == 90
    assert (run / "results.csv").read_text().count("\n") == 91


@pytest.mark.parametrize("budget", [MAX_BUDGET + 1, 99999999999999999999999])
def test_a_budget_beyond_the_maximum_is_refused(tmp_path, budget):
    with pytest.raises(InvalidInput, match=r"--budget must be an integer from 1 to 100,000,000"):
        check_limits(budget)
    with pytest.raises(InvalidInput, match="100,000,000"):
        api.search(**SETUP, budget=budget, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    check_limits(MAX_BUDGET)


def test_the_cli_refuses_an_unbounded_budget_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "nas", "search", "--target", "macs", "--budget",
                           "99999999999999999999999", "--out", str(tmp_path / "run"), "--no-progress"],
                          capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "100,000,000" in done.stderr
    assert not (tmp_path / "run").exists()


def test_restore_reads_the_archive_back_in_chunks(tmp_path, monkeypatch):
    run = tmp_path / "run"
    result = api.search(**SETUP, budget=150, out=run)
    chunks = []
    original = RunDirectory.iter_results

    def small_chunks(self, n_rows, columns, chunk_rows=100_000):
        assert "arch_id" not in columns and "config" not in columns  # never parsed on resume
        for df in original(self, n_rows, columns, chunk_rows=40):
            chunks.append(len(df))
            yield df

    monkeypatch.setattr(RunDirectory, "iter_results", small_chunks)
    problem = build_problem("ofa-mbv3", "macs", [], "none", ["macs", "params"])
    state = RunDirectory.open(run).load_state()
    archive = restore_archive(problem.space, problem.evaluator, RunDirectory.open(run), state)
    assert chunks == [40, 40, 40, 30]
    np.testing.assert_array_equal(archive.genomes, genomes_from_results(problem.space, result.results))
    np.testing.assert_array_equal(archive.values["macs"], result.results["macs"].to_numpy())
    np.testing.assert_array_equal(archive.generations, result.results["generation"].to_numpy())
