"""The Bayesian-optimization searchers (gp: Optuna's GPSampler; botorch: qLogNEHVI) in their BO phase.

The contract tests (test_searcher_contract) run them with a long random design to stay fast; these runs
start modeling after a few subnets, on the toy space (1,024 genomes) with small histories and few Monte
Carlo samples, so a proposal takes a fraction of a second.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from nas import api
from nas.cli import app
from nas.search._searcher import create_searcher
from nas.search.run import run_search
from nas.search.searchers import bo_botorch, bo_gp
from nas.search.searchers.bayesian import MAX_HISTORY, history_rows
from search_spaces import Choice, SearchSpace
from search_spaces.errors import InvalidInput

from .toy import SPACE, TARGET, copy_archive, evaluator

optuna = pytest.importorskip("optuna")

FAST = {"gp": {"n_startup_trials": 6, "mc_samples": 16, "max_history": 30},
        "botorch": {"n_startup_trials": 6, "mc_samples": 16, "max_history": 30, "candidates": 128,
                    "fit_iterations": 30}}
NAMES = ["gp", "botorch"]


def needs(name: str) -> None:
    if name == "botorch":
        pytest.importorskip("botorch")
        pytest.importorskip("optuna_integration")


def make(name: str, n_objectives: int = 2, seed: int = 0, ev=None, **options):
    needs(name)
    cheap = options.pop("cheap", False)
    feasible = ev.is_feasible if ev is not None and ev.constraints and cheap else None
    n_constraints = len(ev.constraints) if ev is not None else 0
    return create_searcher(name, SPACE, n_objectives=n_objectives, n_constraints=n_constraints, seed=seed,
                           is_feasible=feasible, **{**FAST[name], **options})


CASES = [("gp", {}), ("gp", {"constraint": 20.0}), ("gp", {"constraint": 20.0, "cheap": True}),
         ("gp", {"acquisition_search": "optimizer"}), ("gp", {"batch_size": 3}),
         ("botorch", {"constraint": 20.0}), ("botorch", {"batch_size": 4})]


@pytest.mark.parametrize("name,case", CASES, ids=[f"{n}-{'-'.join(map(str, c.values())) or 'plain'}"
                                                  for n, c in CASES])
def test_resumed_in_the_bo_phase_ends_like_an_uninterrupted_run_without_refitting(name, case, monkeypatch):
    case = dict(case)
    ev = evaluator(2, constraint=case.pop("constraint", None))
    budget = 24

    def run(searcher, archive=None, generations=None):
        return run_search(SPACE, ev, searcher, budget=budget, archive=archive, max_generations=generations)

    full = run(make(name, ev=ev, **dict(case)))
    part_searcher = make(name, ev=ev, **dict(case))
    part = run(part_searcher, generations=4 if case.get("batch_size") else 12)  # past the 6-subnet design
    state = json.loads(json.dumps(part_searcher.state_dict()))
    assert state["bo"]["n_trials"] >= 6 + 4 and state["bo"]["sampler"]

    resumed = make(name, ev=ev, **dict(case))
    fits = []
    sampler = bo_gp._gp_sampler_class() if name == "gp" else bo_botorch._botorch_sampler_class()
    method = "_sample_relative_impl" if name == "gp" else "_candidates"
    original = getattr(sampler, method)
    monkeypatch.setattr(sampler, method, lambda self, *a, **k: fits.append(1) or original(self, *a, **k))
    resumed.load_state_dict(state)
    resumed.archive = archive = copy_archive(part.archive)  # the study is rebuilt here
    assert not fits, "the resume fitted a model: it should rebuild the study from the archive"
    study = resumed.study
    assert len(study.trials) == state["bo"]["n_trials"]
    assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) >= len(archive)
    rest = run(resumed, archive=archive)
    np.testing.assert_array_equal(rest.archive.genomes, full.archive.genomes)
    np.testing.assert_array_equal(rest.archive.generations, full.archive.generations)
    assert rest.generations == full.generations


def test_a_state_from_another_library_version_is_replayed_instead():
    ev = evaluator(2)
    full = run_search(SPACE, ev, make("gp"), budget=16)
    searcher = make("gp")
    part = run_search(SPACE, ev, searcher, budget=16, max_generations=9)
    state = json.loads(json.dumps(searcher.state_dict()))
    state["bo"]["versions"]["optuna"] = "0.0.1"
    resumed = make("gp")
    resumed.load_state_dict(state)
    rest = run_search(SPACE, ev, resumed, budget=16, archive=copy_archive(part.archive))
    np.testing.assert_array_equal(rest.archive.genomes, full.archive.genomes)


@pytest.mark.parametrize("name", NAMES)
def test_single_objective_finds_the_optimum(name):
    out = run_search(SPACE, evaluator(1), make(name, 1, n_startup_trials=8), budget=60)
    np.testing.assert_array_equal(out.archive.genomes[np.argmin(out.archive.values["distance"])], TARGET)


@pytest.mark.parametrize("name", NAMES)
def test_beats_random_search_on_the_toy_front(name):
    from nas.search.pareto import hypervolume

    ev = evaluator(2)
    ref = np.array([60.0, 60.0])
    bo = run_search(SPACE, ev, make(name), budget=40).archive.F
    rnd = [run_search(SPACE, ev, create_searcher("random", SPACE, n_objectives=2, seed=s), budget=40).archive.F
           for s in range(3)]
    assert hypervolume(bo, ref) > max(hypervolume(F, ref) for F in rnd)


@pytest.mark.parametrize("mode", ["auto", "optimizer"])
def test_no_evaluation_is_spent_on_a_repeat_or_a_cheap_infeasible_subnet(mode):
    ev = evaluator(2, constraint=20.0)
    searcher = make("gp", ev=ev, cheap=True, acquisition_search=mode)
    out = run_search(SPACE, ev, searcher, budget=40)
    assert np.all(out.archive.values["params"] <= 20.0)  # every evaluated subnet passes the cheap constraint
    trials = searcher.study.trials
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == len(out.archive) == 40  # one trial per evaluated subnet, none repeated
    for t in trials:
        if t.state == optuna.trial.TrialState.PRUNED:
            assert t.user_attrs["skipped"] in ("already evaluated", "infeasible")


def test_a_small_space_is_scored_whole_so_no_proposal_is_pruned():
    searcher = make("gp", acquisition_search="exhaustive")
    run_search(SPACE, evaluator(2), searcher, budget=30)
    assert not [t for t in searcher.study.trials if t.state == optuna.trial.TrialState.PRUNED]


def test_history_rows_keep_the_front_and_spread_the_rest():
    rng = np.random.default_rng(0)
    F = rng.random((500, 2))
    rows = history_rows(F, None, 100)
    assert len(rows) == 100 and np.all(np.diff(rows) > 0)
    from nas.search.pareto import pareto_mask

    assert set(np.flatnonzero(pareto_mask(F))) <= set(rows.tolist())
    assert rows[0] == 0 and rows[-1] == 499  # the spread reaches both ends of the run
    np.testing.assert_array_equal(history_rows(F[:50], None, 100), np.arange(50))
    violation = np.zeros(500)
    violation[:400] = 1.0  # only the last 100 are feasible: the best half comes from them
    assert np.all(history_rows(F, violation, 100)[-50:] >= 400)


def test_the_gp_is_fitted_on_at_most_max_history_subnets(monkeypatch):
    sizes = []
    searcher = make("gp", max_history=12)
    history = searcher._history
    monkeypatch.setattr(searcher, "_history", lambda trials: sizes.append(len(history(trials))) or history(trials))
    run_search(SPACE, evaluator(2), searcher, budget=30)
    assert sizes and max(sizes) == 12


def test_numeric_options_are_ordinal_and_other_genes_categorical():
    space = SearchSpace("mix", [Choice("k", (3, 5, 7), 2), Choice("op", ("conv", "pool", "skip"), 2)])
    s = create_searcher("gp", space, n_objectives=2)
    s._create_study()
    kinds = {n: type(d).__name__ for n, d in s._distributions.items()}
    assert {kinds[n] for n in space.gene_names if n.startswith("k")} == {"IntDistribution"}
    assert {kinds[n] for n in space.gene_names if n.startswith("op")} == {"CategoricalDistribution"}
    s = create_searcher("gp", space, n_objectives=2, encoding="categorical")
    s._create_study()
    assert {type(d).__name__ for d in s._distributions.values()} == {"CategoricalDistribution"}


@pytest.mark.parametrize("options,message", [
    ({"max_history": MAX_HISTORY["gp"] + 1}, "for longer runs use --searcher nsga2"),
    ({"max_history": 5}, "max_history must be an integer from 10 to"),
    ({"n_startup_trials": 1}, "n_startup_trials must be an integer from 2"),
    ({"batch_size": 0}, "batch_size must be an integer from 1 to 64"),
    ({"acquisition_search": "grid"}, "acquisition_search must be one of auto, exhaustive, optimizer"),
    ({"encoding": "onehot"}, "encoding must be one of auto, ordinal, categorical"),
    ({"mc_samples": 2}, "mc_samples must be an integer from 8"),
])
def test_bad_options_are_one_line(options, message):
    with pytest.raises(InvalidInput, match=message) as info:
        create_searcher("gp", SPACE, n_objectives=2, **options)
    assert "\n" not in str(info.value)


def test_a_budget_within_the_initial_design_is_refused_by_check_budget():
    searcher = create_searcher("gp", SPACE, n_objectives=2, n_startup_trials=20)
    searcher.check_budget(21)
    with pytest.raises(InvalidInput, match="--budget 20 is within gp's initial design of n_startup_trials=20"):
        searcher.check_budget(20)


def test_exhaustive_is_refused_on_a_space_too_large_to_list():
    from search_spaces import get_space

    with pytest.raises(InvalidInput, match="acquisition_search=exhaustive scores every genome"):
        create_searcher("gp", get_space("ofa-mbv3"), n_objectives=2, acquisition_search="exhaustive")


def test_botorch_missing_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setattr(bo_botorch, "_installed", lambda module: False)
    with pytest.raises(InvalidInput, match=r"pip install 'nas-engine\[bo\]'"):
        create_searcher("botorch", SPACE, n_objectives=2)


def test_cli_refuses_a_history_it_cannot_model_before_writing_the_run(tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["search", "--space", "ofa-mbv3", "--target", "macs", "--objective", "macs",
                                      "--objective", "params", "--predictor", "none", "--no-progress", "--searcher",
                                      "gp", "-o", "max_history=100000", "--out", str(run)])
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and len(errors) == 1 and "use --searcher nsga2" in errors[0], result.output
    assert not run.exists()


# ------------------------------------------------------------------ run directories
SMALL = dict(space="resnet20-pooling", target="macs", objectives=["macs", "params"], predictor="none", seed=2)


@pytest.mark.parametrize("name", NAMES)
def test_run_directory_resumes_in_the_bo_phase_with_the_same_journal(name, tmp_path):
    needs(name)
    options = {**FAST[name], "n_startup_trials": 4}
    api.search(**SMALL, searcher=name, budget=20, generations=8, searcher_options=options, out=tmp_path / "part")
    resumed = api.search(resume=tmp_path / "part", generations=10**6)
    full = api.search(**SMALL, searcher=name, budget=20, searcher_options=options, out=tmp_path / "full")
    assert resumed.results["arch_id"].tolist() == full.results["arch_id"].tolist()
    assert (tmp_path / "part" / "results.csv").read_text() == (tmp_path / "full" / "results.csv").read_text()
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    studies = [optuna.load_study(study_name="nas-search", storage=JournalStorage(JournalFileBackend(
        str(tmp_path / d / "optuna.journal")))) for d in ("part", "full")]
    assert [t.params for t in studies[0].trials] == [t.params for t in studies[1].trials]
    assert [t.values for t in studies[0].trials] == [t.values for t in studies[1].trials]
    assert [t.state for t in studies[0].trials] == [t.state for t in studies[1].trials]


@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")
def test_killed_gp_search_resumes_to_the_uninterrupted_result(tmp_path):
    common = ["--space", "resnet20-pooling", "--target", "macs", "--objective", "macs", "--objective", "params",
              "--predictor", "none", "--seed", "4", "--no-progress", "--searcher", "gp", "--budget", "30",
              "-o", "n_startup_trials=4", "-o", "mc_samples=16", "-o", "max_history=20"]

    def nas(*args):
        return subprocess.Popen([sys.executable, "-m", "nas", "search", *common, *args], cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    reference = nas("--out", "full")
    victim = nas("--out", "killed")
    state = tmp_path / "killed" / "state.json"
    deadline = time.monotonic() + 180
    while victim.poll() is None and time.monotonic() < deadline:  # kill it in the BO phase
        try:
            if json.loads(state.read_text())["rows"] >= 8:
                break
        except (FileNotFoundError, ValueError, KeyError):
            pass
        time.sleep(0.01)
    assert victim.poll() is None, f"the run ended before it could be killed: {victim.stderr.read()}"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    saved = json.loads(state.read_text())
    assert saved["rows"] >= 8 and saved["searcher"]["bo"]["n_trials"] >= 8
    resumed = subprocess.run([sys.executable, "-m", "nas", "search", "--resume", "killed", "--no-progress"],
                             cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert reference.wait() == 0, reference.stderr.read()
    assert (tmp_path / "killed" / "results.csv").read_text() == (tmp_path / "full" / "results.csv").read_text()


def test_nas_search_refuses_a_budget_within_the_initial_design_before_writing_anything(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["search", "--space", "ofa-mbv3", "--target", "macs", "--searcher", "gp",
                                      "--budget", "5", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "--budget 5 is within gp's initial design of n_startup_trials=10" in result.output
    assert not out.exists()
