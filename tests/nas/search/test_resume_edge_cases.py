"""Resume at the edges: killed before the first saved generation, a changed budget, a searcher with no parents."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nas import api

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
    api.search(out=tmp_path / "run", searcher="evolution", searcher_options={"population": 20}, generations=0,
               **CHEAP)
    resumed = api.search(resume=tmp_path / "run", generations=3)
    assert resumed.generations == 3
    assert len(resumed.results) > 20  # 20 random parents, then mutants and crossovers of them
    assert np.unique(resumed.results["arch_id"]).size == len(resumed.results)
