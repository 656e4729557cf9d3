"""The summary from the archive's arrays equals the one from a table of every row; no file gets inf or NaN."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nas.results import RunDirectory
from nas.results.csv_rows import DynastFormatter
from nas.results.plots import GRID, thin_points
from nas.results.summary import results_frame, summarize, write_dynast, write_summary
from nas.results.tables import best_subnets, pareto_table, results_rows, to_dynast
from nas.search._searcher import create_searcher
from nas.search.assemble import build_problem
from nas.search.run import run_search
from search_spaces import get_space, list_spaces
from search_spaces.errors import InvalidInput


def _run(target="macs", constraints=(), objectives=None, budget=400, predictor=None):
    problem = build_problem("ofa-mbv3", target, list(constraints), predictor, objectives)
    searcher = create_searcher("evolution", problem.space, n_objectives=len(problem.evaluator.objectives), seed=1,
                               population=40)
    outcome = run_search(problem.space, problem.evaluator, searcher, budget=budget)
    return problem, outcome.archive


@pytest.mark.parametrize("setup", [
    dict(objectives=["macs", "params"]),
    dict(constraints=["macs<=350M", "params<=6M"]),  # accuracy only: the front is accuracy vs macs
    dict(constraints=["params<=5.5M"], objectives=["accuracy", "macs"]),
])
def test_summary_equals_the_tables_of_every_row(setup):
    problem, archive = _run(**setup)
    summary = summarize(problem, archive)
    df = results_frame(problem.space, archive, problem.evaluator)
    expected_front = pareto_table(df, summary.front_axes)
    assert sorted(summary.front["arch_id"]) == sorted(expected_front["arch_id"])
    assert list(summary.front.columns) == list(df.columns)
    objectives = [(o.name, o.direction) for o in problem.evaluator.objectives]
    expected = best_subnets(df, objectives[0], problem.constraints)
    for key, value in expected.items():
        assert summary.best[key] == value, key
    assert summary.best["evaluated"] == len(archive) and summary.best["pareto_size"] == len(expected_front)


def test_write_summary_writes_every_file(tmp_path):
    problem, archive = _run(objectives=["macs", "params"])
    run = RunDirectory.create(tmp_path / "run", {})
    summary = summarize(problem, archive)
    write_summary(run, summary, problem, archive, title="t")
    assert json.loads(run.file(run.BEST).read_text()) == summary.best
    assert run.file(run.PARETO).read_text() == summary.front.to_csv(index=False)
    assert len(pd.read_csv(run.file(run.DYNAST))) == len(archive) and run.file(run.PLOT).stat().st_size > 0


@pytest.mark.parametrize("name", list_spaces())
def test_dynast_rows_equal_to_dynast_of_the_table(name, tmp_path):
    space = get_space(name)
    genomes = space.sample(40, np.random.default_rng(2))
    values = {"macs": np.arange(40) * 1e6 + 0.5, "accuracy": np.linspace(0, 1, 40), "params": np.full(40, 3e6)}
    old = to_dynast(results_rows(space, genomes, values, 0, np.ones(40, dtype=bool)))
    formatter = DynastFormatter(space)
    assert formatter.header + formatter.lines(genomes, values, old["Date"].iloc[0]) == old.to_csv(index=False)


def test_dynast_is_written_in_chunks(tmp_path):
    problem, archive = _run(objectives=["macs", "params"], budget=300)
    write_dynast(tmp_path / "a.csv", problem.space, archive, date="2020-01-01 00:00:00", chunk=64)
    write_dynast(tmp_path / "b.csv", problem.space, archive, date="2020-01-01 00:00:00")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    df = results_frame(problem.space, archive, problem.evaluator)
    old = to_dynast(df).assign(Date="2020-01-01 00:00:00").to_csv(index=False)
    assert (tmp_path / "a.csv").read_text() == old


def test_non_finite_values_are_refused_not_written(tmp_path):
    problem, archive = _run(target="jetson", objectives=["accuracy", "latency"], budget=200)
    archive._store.values["latency"].view[:] = np.inf  # as a table of 1e308 ms latencies sums them
    run = RunDirectory.create(tmp_path / "run", {})
    with pytest.raises(InvalidInput, match=r"latency of subnet .* is inf, not a finite number") as err:
        write_summary(run, summarize(problem, archive), problem, archive)
    assert "\n" not in str(err.value)
    assert not run.file(run.BEST).exists() and not run.file(run.PARETO).exists()


def test_best_json_never_holds_infinity(tmp_path):
    from nas.results.summary import RunSummary

    problem, archive = _run(objectives=["macs", "params"], budget=100)
    summary = summarize(problem, archive)
    bad = RunSummary(summary.front_axes, summary.front_rows, summary.front,
                     {**summary.best, "extra": float("inf")})
    run = RunDirectory.create(tmp_path / "run", {})
    with pytest.raises(InvalidInput, match="not finite"):
        write_summary(run, bad, problem, archive)
    assert not run.file(run.BEST).exists()


def test_no_feasible_subnet_is_null(tmp_path):
    problem, archive = _run(constraints=["macs<=1M"], budget=100)
    summary = summarize(problem, archive)
    assert summary.best["best"] is None and summary.front.empty
    run = RunDirectory.create(tmp_path / "run", {})
    write_summary(run, summary, problem, archive)
    assert json.loads(run.file(run.BEST).read_text())["best"] is None


def test_thinning_keeps_one_point_per_cell_and_the_extremes():
    rng = np.random.default_rng(0)
    x, y = rng.random(300_000), rng.random(300_000)
    x[7], y[7] = 5.0, -3.0  # an outlier stays
    keep = thin_points(x, y)
    assert 7 in keep and len(keep) <= GRID[0] * GRID[1] and np.all(np.diff(keep) > 0)
    small = thin_points(x[:1000], y[:1000])
    np.testing.assert_array_equal(small, np.arange(1000))
