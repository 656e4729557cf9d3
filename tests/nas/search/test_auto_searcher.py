"""The self-choosing default searcher: cheap vs expensive objectives, constraints, missing packages, tiny budgets."""

from __future__ import annotations

import pytest

from nas.search import SEARCHERS, create_searcher
from nas.search import auto_searcher as auto
from nas.search.auto_searcher import SearcherChoice, choose_searcher, searcher_available
from search_spaces import get_space
from search_spaces.errors import InvalidInput


def everything(name):
    return True, ""


def missing(*names):
    return lambda name: (False, f"{name} needs a package") if name in names else (True, "")


def test_cheap_objectives_get_a_large_population_evolutionary_run():
    name, options, reason = choose_searcher(cheap=True, constrained=False, budget=100_000, available=everything)
    assert name == auto.CHEAP_SEARCHER and 400 <= options["population"] <= auto.CHEAP_MAX_POPULATION
    huge = choose_searcher(cheap=True, constrained=False, budget=10**7)
    assert huge.options["population"] == auto.CHEAP_MAX_POPULATION
    assert reason.startswith("cheap objectives") and "\n" not in reason and "NAS-Bench-201" in reason
    small = choose_searcher(cheap=True, constrained=False, budget=300, available=everything)
    assert small.options["population"] == 50  # the broad benchmark's best at 300 and 1,000 cells
    assert auto.cheap_population(1000) == 80 and auto.cheap_population(5) == auto.CHEAP_MIN_POPULATION
    mid = choose_searcher(cheap=True, constrained=False, budget=3000, available=everything)
    assert small.options["population"] <= mid.options["population"] <= auto.CHEAP_MAX_POPULATION


def test_cheap_and_constrained():
    choice = choose_searcher(cheap=True, constrained=True, budget=5000, available=everything)
    assert choice.name == auto.CHEAP_SEARCHER and choice.options["population"] == auto.cheap_population(5000)
    if choice.name == "evolution":
        assert "constraints" in choice.reason
    # a missing optional package never matters for the cheap choice
    assert choose_searcher(cheap=True, constrained=False, budget=300, available=missing("gp", "botorch")).name \
        == auto.CHEAP_SEARCHER


def test_population_never_exceeds_the_space():
    space = get_space("nas-bench-201")
    choice = choose_searcher(space, cheap=True, constrained=False, budget=10**7, available=everything)
    assert choice.options["population"] <= space.size


def test_expensive_objectives_get_the_sample_efficient_searcher():
    choice = choose_searcher(cheap=False, constrained=False, budget=300, available=everything)
    assert choice.name == auto.EXPENSIVE_SEARCHER
    assert choice.reason.startswith("expensive objectives") and "300 cells" in choice.reason
    constrained = choose_searcher(cheap=False, constrained=True, budget=300, available=everything)
    assert constrained.name == auto.EXPENSIVE_SEARCHER  # GPSampler and qLogNEHVI both take constraints


@pytest.mark.parametrize("bo", ["gp", "botorch"])
def test_bo_falls_back_when_its_package_is_missing_or_the_budget_does_not_suit(bo, monkeypatch):
    monkeypatch.setattr(auto, "EXPENSIVE_SEARCHER", bo)  # whichever searcher the benchmark made the default
    gone = choose_searcher(cheap=False, constrained=False, budget=300, available=missing(bo))
    assert gone.name == auto.EXPENSIVE_FALLBACK and "cannot run here" in gone.reason and "package" in gone.reason
    for budget in (1, 5, auto.BO_INITIAL_DESIGN, auto.BO_INITIAL_DESIGN + auto.BO_MIN_PROPOSALS - 1):
        tiny = choose_searcher(cheap=False, constrained=False, budget=budget, available=everything)
        assert tiny.name not in ("gp", "botorch"), budget
        assert "initial" in tiny.reason
        if tiny.name == "linas":
            assert 2 <= tiny.options["population"] <= auto.LINAS_MAX_POPULATION
    huge = choose_searcher(cheap=False, constrained=False, budget=auto.BO_MAX_BUDGET + 1, available=everything)
    assert huge.name == auto.EXPENSIVE_FALLBACK and "sensible time" in huge.reason
    ok = choose_searcher(cheap=False, constrained=False, budget=auto.BO_INITIAL_DESIGN + auto.BO_MIN_PROPOSALS,
                         available=everything)
    assert ok.name == bo


def test_every_choice_builds_its_searcher():
    space = get_space("nas-bench-201")
    for cheap in (True, False):
        for constrained in (True, False):
            for budget in (3, 50, 300, 5000):
                name, options, reason = choose_searcher(space, cheap=cheap, constrained=constrained, budget=budget,
                                                        available=everything)
                assert name in SEARCHERS and reason and "\n" not in reason
                if searcher_available(name)[0]:
                    searcher = create_searcher(name, space, n_objectives=2, seed=0, **options)
                    searcher.check_budget(budget)  # a BO choice is never within its initial design


def test_searcher_available_and_bad_budget():
    assert searcher_available("evolution") == (True, "")
    assert searcher_available("annealing")[0] is False
    with pytest.raises(InvalidInput, match="--budget"):
        choose_searcher(cheap=True, constrained=False, budget=0)
    assert isinstance(choose_searcher(cheap=True, constrained=False, budget=10), SearcherChoice)
