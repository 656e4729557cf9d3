"""Run searchers on NAS-Bench-201 and score them against the exact Pareto front, over seeds.

Every searcher gets the same budget of unique cells (the archive counts each cell once) and the
table's accuracy and latency as its two objectives (both flagged expensive, so LINAS models them
from evaluated cells only). Scores are taken after the whole budget and along the way (a curve),
then summarized per searcher as the mean and the worst over seeds. Random search is the baseline.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from search_spaces.errors import InvalidInput

from ..search import SEARCHERS, create_searcher
from ..search.evaluator import Evaluator
from ..search.run import run_search
from .metrics import ExactFront
from .nb201 import NB201Table

__all__ = ["BASELINE", "MAX_SEEDS", "NB201_OPTIONS", "annotate", "run_nb201", "run_pairs", "resolve_searchers"]

BASELINE = "random"
#: most seeds per searcher: the mean and worst settle within tens, and each seed is a whole search
MAX_SEEDS = 1000
SCORES = ("hv_ratio", "recall", "igd_plus")
#: options for a 300-cell budget in a 15,625-cell space: smaller populations give more generations.
#: First tuned on seeds 0-4 of three pairs (cifar10/raspi4, cifar100/pixel3, ImageNet16-120/eyeriss): LINAS with
#: an SVR on graph features beat gbm, ridge, the ensemble (6x slower) and path features. Then re-tuned on the
#: aggregate over the twelve ``broad`` pairs (PAIR_SETS, none of them those three; 5 seeds, mean over pairs of the
#: region HV ratio at 300 cells; benchmarks/results/nas_bench_201_broad.json, "tuning"): evolution population 50
#: (0.967) beat 20 (0.947), 30, 40 (0.961), 60 (0.963), 80 (0.952), 100 and more; NSGA-II population 20 stayed
#: (15: 0.958, 30: 0.957, 50: 0.948, 80: 0.924). Optuna's and LINAS's options were not re-tuned on the broad set.
NB201_OPTIONS: dict[str, dict[str, Any]] = {
    "random": {"batch_size": 20},
    "evolution": {"population": 50, "novel_only": True},
    "nsga2": {"population": 20},
    "optuna": {"population": 20},
    "linas": {"population": 30, "features": "graph", "predictor": "svr"},
}


#: searchers a default run leaves out: a Bayesian proposal takes seconds (tens of minutes per 300-cell run); name
#: them, or ``all``, to run them
SLOW_SEARCHERS = ("gp", "botorch")


def resolve_searchers(names: Sequence[str] | None) -> list[str]:
    """``all`` means every registered searcher, nothing every one but ``SLOW_SEARCHERS``; the baseline first."""
    if not names:
        names = [n for n in SEARCHERS.names() if n not in SLOW_SEARCHERS]
    names = list(names)
    if "all" in names:
        names = SEARCHERS.names()
    for name in names:
        SEARCHERS.get(name)  # raises listing the known searchers
    return sorted(dict.fromkeys(names), key=lambda n: (n != BASELINE, n))


def _options_per_searcher(names: list[str], space, options: dict[str, dict[str, Any]] | None) -> dict[str, dict]:
    """Each searcher's options (NB201_OPTIONS, then the caller's), checked by building each searcher once
    before any run: a bad value fails in a second, not after the searchers before it ran."""
    options = options or {}
    stray = [name for name in options if name not in names]
    if stray:
        key = next(iter(options[stray[0]]), "key")
        raise InvalidInput(f"option {stray[0]}.{key} is for searcher {stray[0]!r}, which this benchmark does not run; "
                           f"it runs: {', '.join(names)} (add --searcher {stray[0]} or drop the option)")
    merged = {name: {**NB201_OPTIONS.get(name, {}), **options.get(name, {})} for name in names}
    for name, opts in merged.items():
        create_searcher(name, space, n_objectives=2, seed=0, **opts)
    return merged


def _checkpoints(budget: int) -> list[int]:
    step = max(1, budget // 10)
    return sorted({*range(step, budget + 1, step), budget})


def _summary(runs: list[dict]) -> tuple[dict, dict]:
    mean = {k: float(np.mean([r[k] for r in runs])) for k in (*SCORES, "front_found")}
    worst = {"hv_ratio": min(r["hv_ratio"] for r in runs), "recall": min(r["recall"] for r in runs),
             "igd_plus": max(r["igd_plus"] for r in runs), "front_found": min(r["front_found"] for r in runs)}
    return mean, worst


def run_nb201(dataset: str = "cifar10", device: str = "raspi4", *, searchers: Sequence[str] | None = None,
              budget: int = 300, seeds: int = 5, table: NB201Table | None = None,
              options: dict[str, dict[str, Any]] | None = None,
              on_run: Callable[[str, int], None] | None = None, score_at: Sequence[int] = ()) -> dict:
    """Scores of each searcher (mean and worst over ``seeds``) after ``budget`` unique cells.

    ``score_at``: smaller budgets also scored, from the same runs (a searcher is never told the budget,
    so its first ``b`` cells are exactly what a run with budget ``b`` evaluates); each searcher's
    ``by_budget`` then holds mean, worst and per-seed scores at each of them and at ``budget``."""
    if budget < 1 or seeds < 1:
        raise InvalidInput(f"--budget and --seeds must be positive, got {budget} and {seeds}")
    score_at = sorted({int(b) for b in score_at if 0 < int(b) < budget})
    if seeds > MAX_SEEDS:
        raise InvalidInput(f"--seeds must be at most {MAX_SEEDS} (each seed is a whole search per searcher), "
                           f"got {seeds}")
    table = table or NB201Table()
    dataset, device = table.dataset_name(dataset), table.device_name(device)
    space = table.space
    exact = ExactFront(table.F(dataset, device))
    evaluator = Evaluator(space, table.objectives(dataset, device))
    names = resolve_searchers(searchers)
    per_searcher = _options_per_searcher(names, space, options)
    checkpoints = sorted({*_checkpoints(budget), *score_at})
    out: dict[str, Any] = {"dataset": dataset, "device": device, "budget": budget, "seeds": seeds,
                           "baseline": BASELINE, "exact_front": exact.summary(), "checkpoints": checkpoints,
                           "searchers": {}}
    for name in names:
        opts = per_searcher[name]
        runs, curves, at = [], [], {b: [] for b in score_at}
        for seed in range(seeds):
            start = time.perf_counter()
            searcher = create_searcher(name, space, n_objectives=2, seed=seed, **opts)
            outcome = run_search(space, evaluator, searcher, budget=budget)
            cells = space.cell_index(outcome.archive.genomes)  # in evaluation order
            runs.append({"seed": seed, "evaluated": int(len(cells)), **exact.score(cells),
                         "seconds": round(time.perf_counter() - start, 3)})
            curves.append(exact.curve(cells, checkpoints))
            for b in score_at:
                at[b].append({"seed": seed, **exact.score(cells[:b])})
            if on_run is not None:
                on_run(name, seed)
        mean, worst = _summary(runs)
        curve = {f"{k}_mean": np.mean([c[k] for c in curves], axis=0).tolist() for k in SCORES}
        curve.update({f"{k}_worst": np.min([c[k] for c in curves], axis=0).tolist() for k in ("hv_ratio", "recall")})
        out["searchers"][name] = {"options": opts, "budget": budget, "mean": mean, "worst": worst, "runs": runs,
                                  "curve": curve}
        if score_at:
            by_budget = {str(b): dict(zip(("mean", "worst"), _summary(at[b])), runs=at[b]) for b in score_at}
            by_budget[str(budget)] = {"mean": mean, "worst": worst, "runs": runs}
            out["searchers"][name]["by_budget"] = by_budget
    return out


def annotate(results: list[dict]) -> None:
    """Mark each pair's result as one the defaults were first tuned on (or not) and name its device kind."""
    from .pairs import DEVICE_KINDS, PAIR_SETS

    tuned = set(PAIR_SETS["tuned"])
    for res in results:
        res["tuned_pair"] = (res["dataset"], res["device"]) in tuned
        res["device_kind"] = DEVICE_KINDS.get(res["device"])


def run_pairs(pairs: Sequence[tuple[str, str]], *, searchers: Sequence[str] | None = None, budget: int = 300,
              seeds: int = 5, table: NB201Table | None = None, options: dict[str, dict[str, Any]] | None = None,
              score_at: Sequence[int] = (), on_run: Callable[[str, int], None] | None = None,
              on_pair: Callable[[dict], None] | None = None, done: Sequence[dict] = ()) -> dict:
    """``run_nb201`` on each (dataset, device) pair (skipping those in ``done``, kept as they are), then the
    aggregate over pairs at every budget scored (``nas.benchmark.aggregate.aggregates``: over the pairs the
    defaults were not first tuned on, the tuned ones apart). ``on_pair`` gets the document after each pair."""
    from .aggregate import aggregates

    table = table or NB201Table()
    results = list(done)
    have = {(r["dataset"], r["device"]) for r in results}
    doc: dict[str, Any] = {"pairs": [f"{d}:{v}" for d, v in pairs], "budget": budget, "score_at": list(score_at),
                           "seeds": seeds, "baseline": BASELINE, "results": results}

    def finish() -> dict:
        annotate(results)
        doc.update(aggregates(results) if results else {"aggregate": {}})
        return doc

    for dataset, device in pairs:
        if (table.dataset_name(dataset), device) in have:
            continue
        start = time.perf_counter()
        res = run_nb201(dataset, device, searchers=searchers, budget=budget, seeds=seeds, table=table,
                        options=options, on_run=on_run, score_at=score_at)
        res["seconds"] = round(time.perf_counter() - start, 1)
        results.append(res)
        if on_pair is not None:
            on_pair(finish())
    return finish()
