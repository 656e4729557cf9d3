"""The contract every registered searcher passes, on toy spaces with known optima."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nas.search import SEARCHERS
from nas.search._searcher import create_searcher
from nas.search.pareto import hypervolume, pareto_mask
from nas.search.run import run_search

from .toy import OPTIONS, SPACE, TARGET, all_genomes, copy_archive, distance, evaluator, params

NAMES = SEARCHERS.names()


def make(name: str, n_objectives: int = 1, seed: int = 0, ev=None, **kwargs):
    feasible = ev.is_feasible if ev is not None and ev.constraints else None
    return create_searcher(name, SPACE, n_objectives=n_objectives, seed=seed, is_feasible=feasible,
                           **OPTIONS.get(name, {}), **kwargs)


def test_every_searcher_has_contract_options():
    assert set(NAMES) <= set(OPTIONS), "add small-population options for the new searcher in toy.OPTIONS"


@pytest.mark.parametrize("name", NAMES)
def test_finds_the_optimum(name):
    # random search proves it covers the space without repeats; the others get a fifth of it
    budget = SPACE.size if name == "random" else 200
    ev = evaluator(1)
    out = run_search(SPACE, ev, make(name), budget=budget)
    archive = out.archive
    assert len(archive) == budget
    assert len(np.unique(SPACE.keys_of(archive.genomes))) == budget  # the budget counts unique subnets
    best = archive.genomes[np.argmin(archive.values["distance"])]
    np.testing.assert_array_equal(best, TARGET)


@pytest.mark.parametrize("name", NAMES)
def test_two_objectives_approach_the_exact_front(name):
    every = all_genomes()
    F_all = np.stack([distance(every), params(every)], axis=1)
    ref = F_all.max(axis=0) + 1
    exact = hypervolume(F_all[pareto_mask(F_all)], ref)
    out = run_search(SPACE, evaluator(2), make(name, 2), budget=SPACE.size if name == "random" else 300)
    found = hypervolume(out.archive.F, ref)
    assert found / exact >= (1.0 if name == "random" else 0.9)


@pytest.mark.parametrize("name", NAMES)
def test_respects_constraints(name):
    bound = 20.0  # params(TARGET) = 3+2+0+8+5 = 18 fits; many genomes do not
    ev = evaluator(1, constraint=bound)
    every = all_genomes()
    feasible = params(every) <= bound
    constrained_best = distance(every[feasible]).min()
    out = run_search(SPACE, ev, make(name, ev=ev), budget=SPACE.size if name == "random" else 200)
    archive = out.archive
    ok = archive.values["params"] <= bound
    assert np.array_equal(ok, np.all(archive.G <= 0, axis=1))  # G says what the constraint says
    assert archive.values["distance"][ok].min() == constrained_best
    if name != "optuna":  # Optuna learns constraints from set_constraint; the others reject before asking
        assert ok.all()


def _run(name: str, seed: int, budget: int = 150, generations: int | None = None, searcher=None, archive=None):
    searcher = searcher or make(name, 2, seed=seed)
    return searcher, run_search(SPACE, evaluator(2), searcher, budget=budget, max_generations=generations,
                                archive=archive)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_resumes_identically(name):
    _, full = _run(name, seed=3)
    searcher, part = _run(name, seed=3, generations=3)
    state = json.loads(json.dumps(searcher.state_dict()))  # JSON-able, as state.json holds it
    resumed = make(name, 2, seed=3)
    resumed.load_state_dict(state)
    _, rest = _run(name, seed=3, searcher=resumed, archive=copy_archive(part.archive))
    np.testing.assert_array_equal(rest.archive.genomes, full.archive.genomes)
    np.testing.assert_array_equal(rest.archive.generations, full.archive.generations)
    assert rest.generations == full.generations


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_results(name):
    a = _run(name, seed=7)[1].archive
    b = _run(name, seed=7)[1].archive
    c = _run(name, seed=8)[1].archive
    np.testing.assert_array_equal(a.genomes, b.genomes)
    np.testing.assert_array_equal(a.F, b.F)
    assert not np.array_equal(a.genomes, c.genomes)


@pytest.mark.parametrize("name", NAMES)
def test_state_of_another_searcher_is_refused(name):
    other = next(n for n in NAMES if n != name)
    state = make(other, 2).state_dict()
    with pytest.raises(Exception, match=other):
        make(name, 2).load_state_dict(state)
