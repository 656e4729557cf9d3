"""Resume at the edges: killed before the first saved generation, a changed budget, a searcher with no parents."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nas import api
from nas.results.run_dir import RunDirectory
from nas.search._searcher import create_searcher
from nas.search.run import restore_archive, run_search

from .toy import SPACE, evaluator

CHEAP = dict(space="ofa-mbv3", target="macs", objectives=["macs", "params"], predictor="none", budget=60)
OPTIONS = {"random": {"batch_size": 20}, "evolution": {"population": 20}, "nsga2": {"population": 20},
           "optuna": {"population": 20}}


@pytest.mark.parametrize("searcher", list(OPTIONS))
def test_killed_before_the_first_state_resumes_without_duplicates(tmp_path, searcher):
    """A kill after the first rows were appended but before state.json: resume starts over cleanly."""
    kwargs = dict(CHEAP, searcher=searcher, searcher_options=OPTIONS[searcher], seed=1)
    full = api.search(out=tmp_path / "full", **kwargs)
    api.search(out=tmp_path / "cut", generations=1, **kwargs)
    (tmp_path / "cut" / "state.json").unlink()  # as if killed between the append and the state save
    cfg = json.loads((tmp_path / "cut" / "config.json").read_text())
    (tmp_path / "cut" / "config.json").write_text(json.dumps({**cfg, "generations": None}))
    resumed = api.search(resume=tmp_path / "cut")
    rows = pd.read_csv(tmp_path / "cut" / "results.csv")
    assert rows["arch_id"].is_unique and len(rows) == 60
    assert rows["arch_id"].tolist() == pd.read_csv(tmp_path / "full" / "results.csv")["arch_id"].tolist()
    assert resumed.best == full.best


def test_a_larger_budget_on_resume_is_recorded(tmp_path):
    api.search(out=tmp_path / "run", searcher="random", searcher_options={"batch_size": 20}, **CHEAP)
    grown = api.search(resume=tmp_path / "run", budget=100)
    assert len(grown.results) == 100
    assert json.loads((tmp_path / "run" / "config.json").read_text())["budget"] == 100
    again = api.search(resume=tmp_path / "run")  # a later resume keeps the new budget
    assert len(again.results) == 100


def test_evolution_resumes_a_run_stopped_before_any_generation(tmp_path):
    api.search(out=tmp_path / "run", searcher="evolution", searcher_options={"population": 20}, generations=1,
               **CHEAP)
    for name in ("state.json", "results.csv"):  # as if killed before the first generation was saved
        (tmp_path / "run" / name).unlink()
    resumed = api.search(resume=tmp_path / "run", generations=3)
    assert resumed.generations == 3
    assert len(resumed.results) > 20  # 20 random parents, then mutants and crossovers of them
    assert np.unique(resumed.results["arch_id"]).size == len(resumed.results)


@pytest.mark.parametrize("searcher", ["random", "nsga2"])
def test_a_run_killed_while_stalled_stops_where_an_uninterrupted_one_stops(tmp_path, searcher):
    """The stall count is saved with the state: resuming does not restart it from zero."""
    options = {"random": {"batch_size": 200}, "nsga2": {"population": 200}}[searcher]
    ev = evaluator(1)

    def fresh():
        return create_searcher(searcher, SPACE, n_objectives=1, seed=3, **options)

    kwargs = dict(budget=SPACE.size + 1, stall_generations=3)  # more than the space holds: it must stall
    full = run_search(SPACE, ev, fresh(), **kwargs)
    assert full.stopped == "stalled"
    run_dir = RunDirectory.create(tmp_path / "run", {})
    cut = run_search(SPACE, ev, fresh(), run_dir=run_dir, max_generations=full.generations - 1, **kwargs)
    assert cut.stopped == "generations"
    state = run_dir.load_state()
    assert state["searcher"]["stalled"] == 2
    resumed_searcher = fresh()
    archive = restore_archive(SPACE, ev, run_dir, state)
    resumed_searcher.load_state_dict(state["searcher"])
    resumed = run_search(SPACE, ev, resumed_searcher, run_dir=run_dir, archive=archive, **kwargs)
    assert (resumed.stopped, resumed.generations) == ("stalled", full.generations)


def test_a_state_saved_without_the_stall_count_still_loads():
    searcher = create_searcher("evolution", SPACE, n_objectives=1, population=20)
    searcher.stalled = 4
    state = searcher.state_dict()
    del state["stalled"]  # as written before the count was recorded
    searcher.load_state_dict(state)
    assert searcher.stalled == 0
