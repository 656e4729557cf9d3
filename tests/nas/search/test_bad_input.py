"""User mistakes in searching: one-line NasError in Python, `error: ...` and exit code 2 on the CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from nas.cli import app
from nas.errors import InvalidConstraint, RunDirectoryError
from nas.search import SEARCHERS
from nas.search._searcher import create_searcher
from nas.search.assemble import build_problem
from nas.search.constraints import parse_constraint
from nas.search.run import run_search
from search_spaces.errors import InvalidInput, NasError, UnknownName

from .toy import SPACE, evaluator

runner = CliRunner()
CHEAP = ["--space", "ofa-mbv3", "--target", "macs", "--objective", "macs", "--objective", "params",
         "--predictor", "none", "--no-progress"]


def cli(*args: str):
    return runner.invoke(app, list(args))


def one_line_error(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], result.output


def test_unknown_searcher_lists_the_known_ones(tmp_path):
    with pytest.raises(UnknownName) as info:
        create_searcher("simulated-annealing", SPACE, n_objectives=1)
    for name in SEARCHERS.names():
        assert name in str(info.value)
    one_line_error(cli("search", *CHEAP, "--searcher", "annealing", "--out", str(tmp_path / "r")), "annealing")


@pytest.mark.parametrize("text,message", [
    ("latency<<20ms", "cannot parse constraint"),
    ("latency<=", "cannot parse constraint"),
    ("<=20ms", "cannot parse constraint"),
    ("latency=20ms", "cannot parse constraint"),
    ("latency<=twenty", "cannot parse constraint"),
    ("speed<=20", "unknown metric 'speed'"),
    ("latency<=20kg", "unknown unit 'kg' for latency"),
    ("params<=5Q", "unknown unit 'Q' for params"),
])
def test_malformed_constraints(text, message):
    with pytest.raises(InvalidConstraint, match=message):
        parse_constraint(text)


def test_constraint_units_are_canonical():
    assert parse_constraint("latency<=20ms").bound == 20.0
    assert parse_constraint("latency<=2000us").bound == pytest.approx(2.0)
    assert parse_constraint("params<=5M").bound == 5e6
    assert parse_constraint("macs < 300M").op == "<"
    assert parse_constraint("accuracy>=75%").op == ">="


@pytest.mark.parametrize("text,at_bound", [("latency<20ms", False), ("latency<=20ms", True),
                                           ("accuracy>75%", False), ("accuracy>=75%", True)])
def test_strict_constraints_exclude_the_bound(text, at_bound):
    c = parse_constraint(text)
    inside, outside = (19.0, 21.0) if c.metric == "latency" else (76.0, 74.0)
    assert c.satisfied(np.array([inside, c.bound, outside])).tolist() == [True, at_bound, False]
    assert (c.violation(np.array([c.bound])) > 0).item() is not at_bound  # searchers see G > 0 as infeasible


@pytest.mark.parametrize("text,message", [
    ("accuracy>=0.75", "accuracy is in percent, so this means 0.75%; write accuracy>=75% (or accuracy>=0.75%"),
    ("accuracy>=150%", "accuracy is top-1 in percent, so its bound must be between 0% and 100%"),
    ("accuracy<=101", "between 0% and 100%"),
    ("latency<=0ms", "no subnet has latency <= 0"),
    ("macs<=1e400", "the bound is too large to be a number (it overflows to infinity)"),  # as macs<=inf is refused
    ("latency<=1e308s", "overflows to infinity"),  # finite, until the unit scales it
])
def test_constraint_bounds_that_cannot_be_meant(text, message):
    with pytest.raises(InvalidConstraint, match=re.escape(message)):
        parse_constraint(text)
    assert parse_constraint("accuracy>=0.75%").bound == 0.75  # an explicit unit says it is meant


def test_impossible_accuracy_fails_before_the_run_directory_is_written(tmp_path):
    run = tmp_path / "run"
    one_line_error(cli("search", "--space", "ofa-mbv3", "--target", "macs", "--constraint", "accuracy>=150%",
                       "--no-progress", "--out", str(run)), "between 0% and 100%")
    assert not run.exists()


def test_an_objective_given_twice(tmp_path):
    with pytest.raises(InvalidInput, match="objective 'macs' is given twice"):
        build_problem("ofa-mbv3", "macs", predictor="none", objectives=["macs", "params", "macs"])
    with pytest.raises(InvalidInput, match="no objective to optimize"):
        build_problem("ofa-mbv3", "macs", predictor="none", objectives=[])
    one_line_error(cli("search", "--space", "ofa-mbv3", "--target", "macs", "--objective", "accuracy",
                       "--objective", "accuracy", "--no-progress", "--out", str(tmp_path / "r")),
                   "objective 'accuracy' is given twice")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("limits", [dict(max_generations=0), dict(max_generations=-3), dict(budget=0),
                                    dict(stall_generations=0), dict(max_generations=True)])
def test_search_loop_limits_are_counts(limits):
    ev = evaluator(1)
    kwargs = {"budget": 10, **limits}
    with pytest.raises(InvalidInput, match="must be an integer >= 1"):
        run_search(SPACE, ev, create_searcher("random", SPACE, n_objectives=1), **kwargs)


def test_objective_the_target_cannot_provide(tmp_path):
    with pytest.raises(InvalidInput, match="objective 'latency' is not available here; available: "):
        build_problem("ofa-mbv3", "macs", predictor="none", objectives=["latency"])
    with pytest.raises(InvalidConstraint, match="needs the metric 'latency'"):
        build_problem("ofa-mbv3", "macs", ["latency<=20ms"], predictor="none", objectives=["macs"])
    one_line_error(cli("search", "--space", "ofa-mbv3", "--target", "macs", "--objective", "latency",
                       "--predictor", "none", "--out", str(tmp_path / "r")), "objective 'latency' is not available")


@pytest.mark.parametrize("options,message", [
    ({"population": 1}, "population must be an integer >= 2, got 1"),
    ({"no_such_option": 3}, "unknown option 'no_such_option'"),
])
def test_bad_searcher_options(options, message):
    for name in ("nsga2", "linas", "optuna"):
        with pytest.raises(InvalidInput, match=message):
            create_searcher(name, SPACE, n_objectives=2, **options)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(InvalidInput, match="known presets: once-for-all, vit-resnas"):
        create_searcher("evolution", SPACE, n_objectives=1, preset="darts")


def test_too_many_objectives():
    with pytest.raises(NasError, match="1 to 3 objectives"):
        create_searcher("random", SPACE, n_objectives=4)


def test_resume_directory_from_another_space(tmp_path):
    run = tmp_path / "run"
    result = cli("search", *CHEAP, "--searcher", "evolution", "--budget", "200", "--out", str(run))
    assert result.exit_code == 0, result.output
    config = json.loads((run / "config.json").read_text())
    config["space"] = "ofa-mbv3-w1.2"  # the recorded layout stays ofa-mbv3's
    (run / "config.json").write_text(json.dumps(config))
    one_line_error(cli("search", "--resume", str(run), "--no-progress"), "was made for another space")


def test_resume_refuses_a_directory_that_is_no_run(tmp_path):
    one_line_error(cli("search", "--resume", str(tmp_path), "--no-progress"), "is not a search run directory")
    with pytest.raises(RunDirectoryError):
        from nas.results.run_dir import RunDirectory

        RunDirectory.open(tmp_path)


def test_out_directory_holding_a_run_is_not_overwritten(tmp_path):
    run = tmp_path / "run"
    assert cli("search", *CHEAP, "--budget", "100", "--out", str(run)).exit_code == 0
    one_line_error(cli("search", *CHEAP, "--budget", "100", "--out", str(run)), "already holds a search run")


@pytest.mark.parametrize("extra", [["--seed", "5"], ["--target", "params"], ["--space", "ofa-mbv3-w1.2"],
                                   ["--searcher", "random"], ["--constraint", "macs<=300M"],
                                   ["--option", "population=10"], ["--objective", "macs"], ["--out", "elsewhere"]])
def test_resume_refuses_options_that_differ_from_the_run(tmp_path, extra):
    run = tmp_path / "run"
    assert cli("search", *CHEAP, "--searcher", "evolution", "--budget", "60", "--out", str(run)).exit_code == 0
    before = (run / "results.csv").read_bytes()
    one_line_error(cli("search", "--resume", str(run), "--no-progress", *extra), "differs from the run being resumed")
    assert (run / "results.csv").read_bytes() == before
    # options that repeat the run's setup are fine
    assert cli("search", "--resume", str(run), "--no-progress", "--seed", "0", "--target", "macs",
               "--space", "ofa-mbv3").exit_code == 0
