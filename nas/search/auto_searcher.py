"""The default searcher, chosen by what the objectives cost, with the benchmark numbers that justify it.

``nas search`` without ``--searcher`` calls :func:`choose_searcher`:

* **cheap objectives** (predictors, lookup tables, MAC counts: thousands of subnets a second) ->
  a large-population evolutionary run: the evolutionary searcher that won the broad NAS-Bench-201
  benchmark (``benchmarks/results/nas_bench_201_broad.json``: 12 dataset x device pairs none of the
  defaults were first tuned on, 5 seeds), with a population that grows with the budget as far as the
  benchmark supports it;
* **expensive objectives** (accuracy measured on a trained supernet, latency timed on a device) ->
  the most sample-efficient searcher on that benchmark at 300 unique cells, falling back when it
  cannot run (an optional package missing, a budget within a Bayesian initial design, more
  evaluations than a Bayesian model handles in sensible time).

The returned reason is one sentence naming the numbers; ``nas search`` prints it and records it in the
run's config (``"searcher_choice"``). The numbers are copied from the benchmark file (``BROAD``); rerun
``python benchmarks/nas_bench_201.py --pairs broad ...`` and update them together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from search_spaces.errors import InvalidInput

__all__ = ["BROAD", "SearcherChoice", "choose_searcher", "searcher_available"]

#: the broad benchmark's aggregate (mean over 12 pairs of each pair's mean over seeds; the worst pair's mean):
#: searcher -> budget -> (HV ratio mean, HV ratio worst pair, recall mean, recall worst pair, pairs, seeds)
BROAD: dict[str, dict[int, tuple[float, float, float, float, int, int]]] = {
    "random": {300: (0.8876, 0.8476, 0.015, 0.006, 12, 5), 1000: (0.9450, 0.9201, 0.061, 0.042, 12, 5)},
    "nsga2": {300: (0.9592, 0.9218, 0.193, 0.117, 12, 5), 1000: (0.9892, 0.9731, 0.562, 0.375, 12, 5)},
    "optuna": {300: (0.9519, 0.9142, 0.140, 0.073, 12, 5), 1000: (0.9890, 0.9725, 0.519, 0.350, 12, 5)},
    "evolution": {300: (0.9666, 0.9358, 0.170, 0.107, 12, 5), 1000: (0.9888, 0.9812, 0.463, 0.332, 12, 5)},
    "linas": {300: (0.9785, 0.9747, 0.203, 0.200, 2, 5)},
    "gp": {300: (0.9730, 0.9730, 0.156, 0.156, 1, 1)},
    "evolution, population 80": {1000: (0.9944, 0.9874, 0.580, 0.434, 12, 5)},
    "nsga2, population 50": {1000: (0.9930, 0.9859, 0.604, 0.483, 12, 5)},
}
BROAD_PAIRS = 12
BROAD_FILE = "benchmarks/results/nas_bench_201_broad.json"

#: cheap objectives: the evolutionary winner of the broad aggregate at 1,000 cells, and its population rule:
#: population = CHEAP_POPULATION_AT_300 * (budget / 300) ** CHEAP_POPULATION_EXPONENT, within
#: [CHEAP_MIN_POPULATION, CHEAP_MAX_POPULATION]: the broad benchmark's best evolution populations were 50 at 300
#: cells and 80 at 1,000 (exponent log(80/50)/log(1000/300) = 0.39); the rule gives ~480 at 100,000 subnets
CHEAP_SEARCHER = "evolution"
CHEAP_EVIDENCE = "evolution, population 80"  # the BROAD row the cheap choice cites (1,000 cells)
CHEAP_RUNNER_UP = "nsga2, population 50"  # NSGA-II's best population at 1,000 cells
CHEAP_OPTIONS: dict[str, Any] = {"novel_only": True}
CHEAP_POPULATION_AT_300 = 50
CHEAP_POPULATION_EXPONENT = 0.39
CHEAP_MIN_POPULATION = 20
CHEAP_MAX_POPULATION = 1000
#: expensive objectives: the most sample-efficient searcher on the broad aggregate at 300 cells, then the fallback
EXPENSIVE_SEARCHER = "evolution"
EXPENSIVE_FALLBACK = "linas"
EXPENSIVE_OPTIONS: dict[str, dict[str, Any]] = {"gp": {"batch_size": 10}, "botorch": {"batch_size": 10},
                                                 "nsga2": {"population": 20}}
#: the searchers the expensive choice's reason compares against
EXPENSIVE_COMPARED = ("linas", "gp", "botorch", "nsga2", "evolution")
#: a Bayesian searcher's random initial design (n_startup_trials); it needs at least this many proposals after it
BO_INITIAL_DESIGN = 10
BO_MIN_PROPOSALS = 20
#: above this many evaluations a Bayesian proposal takes seconds (a GP fit on max_history subnets each time):
#: a predictor-guided searcher spends the budget in far less time
BO_MAX_BUDGET = 2000
#: LINAS with a measured objective: a small population gives several predictor-guided generations
LINAS_MAX_POPULATION = 10


@dataclass(frozen=True)
class SearcherChoice:
    """What ``nas search`` runs when no ``--searcher`` is given; unpacks as ``name, options, reason``."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    def __iter__(self) -> Iterator:
        return iter((self.name, dict(self.options), self.reason))


def searcher_available(name: str) -> tuple[bool, str]:
    """Whether searcher ``name`` can run here (its optional packages import), and if not, what is missing."""
    from ._searcher import SEARCHERS

    if name not in SEARCHERS:
        return False, f"the {name} searcher is not registered"
    if name in ("gp", "botorch"):
        from .searchers.bayesian import INSTALL_BO, _installed

        if not _installed("optuna") or not _installed("torch"):
            return False, f"{name} needs optuna and torch"
        if name == "gp":
            try:
                from .searchers.bo_gp import _gp_sampler_class

                _gp_sampler_class()
            except (InvalidInput, ImportError, AttributeError) as exc:
                return False, " ".join(str(exc).split())
        if name == "botorch" and not (_installed("botorch") and _installed("optuna_integration")):
            return False, f"botorch needs BoTorch: {INSTALL_BO}"
    return True, ""


#: the slow searchers (BO, LINAS) ran on fewer pairs: every searcher's mean region HV ratio at 300 cells on
#: just those pairs ("matched" in the benchmark file): label -> (pairs, {searcher: HV ratio})
MATCHED_300: dict[str, tuple[int, dict[str, float]]] = {
    "gp": (1, {'evolution': 0.9765, 'nsga2': 0.9775, 'linas': 0.9747, 'gp': 0.973}),
    "linas": (2, {'evolution': 0.9752, 'nsga2': 0.9784, 'linas': 0.9785, 'gp': 0.973}),
}


def _matched(best: str) -> str:
    parts = []
    for label, (pairs, hv) in MATCHED_300.items():
        others = ", ".join(f"{n} {v:.3f}" for n, v in hv.items() if n != best)
        parts.append(f"on the {pairs} pair(s) {label} ran on: {best} {hv.get(best, float('nan')):.3f}, {others}")
    return "; ".join(parts)


def _numbers(name: str, budget: int) -> str:
    got = BROAD.get(name, {}).get(budget)
    if got is None:
        return f"{name}: not measured at {budget} cells"
    hv, hv_worst, recall, recall_worst, pairs, seeds = got
    cover = "" if (pairs, seeds) == (BROAD_PAIRS, 5) else f" [{pairs} pairs, {seeds} seeds]"
    return (f"{name} region HV ratio {hv:.3f} mean, {hv_worst:.3f} worst pair, front recall {recall:.0%} "
            f"(worst pair {recall_worst:.0%}){cover}")


def cheap_population(budget: int) -> int:
    """The evolutionary population for a cheap-objective run of ``budget`` subnets (50 at 300, 80 at 1,000)."""
    grown = round(CHEAP_POPULATION_AT_300 * (budget / 300) ** CHEAP_POPULATION_EXPONENT)
    return int(min(CHEAP_MAX_POPULATION, max(CHEAP_MIN_POPULATION, grown)))


def choose_searcher(space: Any = None, *, cheap: bool, constrained: bool, budget: int, n_objectives: int = 2,
                    available: Callable[[str], tuple[bool, str]] = searcher_available) -> SearcherChoice:
    """The searcher (name, options, one-line reason) for objectives that are ``cheap`` (predictors, tables,
    MACs) or not (measured accuracy, device timing), ``constrained`` or not, a ``budget`` of unique subnets
    and ``n_objectives`` objectives. ``space`` (optional) caps the population at its size.
    ``available(name) -> (ok, why)`` says whether a searcher's packages are installed (tests replace it)."""
    if budget < 1:
        raise InvalidInput(f"--budget must be at least 1, got {budget}")
    size = getattr(space, "size", None)
    where = f"on the {BROAD_PAIRS}-pair NAS-Bench-201 benchmark ({BROAD_FILE})"
    if cheap:
        population = cheap_population(budget)
        if size is not None:
            population = int(max(2, min(population, size)))
        name = CHEAP_SEARCHER
        note = ""
        if constrained and name == "evolution":
            # the broad benchmark has no constraints; evolution draws children by rejection against cheap ones
            note = " (it keeps cheap constraints by rejecting infeasible children; the benchmark is unconstrained)"
        return SearcherChoice(name, {"population": population, **CHEAP_OPTIONS},
                              f"cheap objectives: {name} with population {population} (grown with the budget from the "
                              f"benchmark's best 50 at 300 cells and 80 at 1,000){note}, the better evolutionary "
                              f"searcher {where} at 1,000 cells: {_numbers(CHEAP_EVIDENCE, 1000)}, vs "
                              f"{_numbers(CHEAP_RUNNER_UP, 1000)}")
    best = EXPENSIVE_SEARCHER
    fallback_reason = ""
    if best in ("gp", "botorch"):
        ok, why = available(best)
        if not ok:
            fallback_reason = f"{best} cannot run here ({why})"
        elif budget < BO_INITIAL_DESIGN + BO_MIN_PROPOSALS:
            fallback_reason = (f"a budget of {budget} leaves {best} fewer than {BO_MIN_PROPOSALS} proposals after its "
                               f"{BO_INITIAL_DESIGN} random initial subnets")
        elif budget > BO_MAX_BUDGET:
            fallback_reason = (f"{budget:,} evaluations are past what {best} models in sensible time "
                               f"({BO_MAX_BUDGET:,}; seconds per proposal)")
    if not fallback_reason:
        options = _expensive_options(best, budget, size)
        full = [n for n in EXPENSIVE_COMPARED if n != best and n in BROAD and BROAD[n][300][4] == BROAD_PAIRS]
        vs = f", vs {'; '.join(_numbers(n, 300) for n in full)}" if full else ""
        matched = _matched(best)
        return SearcherChoice(best, options,
                              f"expensive objectives: {best}{_population_note(options)}, the most sample-efficient "
                              f"of the searchers run on all pairs {where} at 300 cells: {_numbers(best, 300)}{vs}"
                              f"{'; region HV ratio ' + matched if matched else ''}")
    name = EXPENSIVE_FALLBACK
    options = _expensive_options(name, budget, size)
    return SearcherChoice(name, options,
                          f"expensive objectives: {name}{_population_note(options)} because {fallback_reason}; "
                          f"{where} at 300 cells: {_numbers(name, 300)}, vs {_numbers(best, 300)}")


def _population_note(options: dict) -> str:
    return f" (population {options['population']})" if "population" in options else ""


def _expensive_options(name: str, budget: int, size: int | None) -> dict[str, Any]:
    if name == "evolution":
        population = cheap_population(budget)
        return {"population": int(max(2, min(population, size))) if size else population, **CHEAP_OPTIONS}
    if name == "linas":
        return {"population": int(max(2, min(LINAS_MAX_POPULATION, budget // 3)))}
    return dict(EXPENSIVE_OPTIONS.get(name, {}))
