"""Small toy problems with known optima for the searcher contract tests (no predictor, no data)."""

from __future__ import annotations

import numpy as np

from nas.search.constraints import Constraint
from nas.search.evaluator import Evaluator
from nas.search.objectives import Objective
from search_spaces import Choice, SearchSpace

#: 5 genes x 4 options = 1,024 genomes; the optimum of ``distance`` is TARGET
SPACE = SearchSpace("toy", [Choice("x", (0, 1, 2, 3), 5)])
TARGET = np.array([3, 1, 0, 2, 1])

#: small populations so a few hundred evaluations give every searcher many generations
OPTIONS = {"random": {"batch_size": 20}, "evolution": {"population": 20}, "nsga2": {"population": 20},
           "optuna": {"population": 20}, "linas": {"population": 20, "predictor": "ridge"},  # dynast's SVR grid is slow
           # Bayesian optimization costs 0.1-1 s a proposal: a long random design keeps the contract tests short
           # (tests/nas/search/test_bayesian.py tests the BO phase itself)
           "gp": {"n_startup_trials": 140, "mc_samples": 16, "max_history": 50},
           "botorch": {"n_startup_trials": 140, "batch_size": 10, "mc_samples": 16, "max_history": 50,
                       "candidates": 128, "fit_iterations": 30}}


def distance(genomes: np.ndarray) -> np.ndarray:
    return ((genomes - TARGET) ** 2).sum(axis=1).astype(np.float64)


def params(genomes: np.ndarray) -> np.ndarray:
    """A cost that conflicts with ``distance`` (TARGET is not the cheapest genome)."""
    return (genomes * np.array([1, 2, 3, 4, 5])).sum(axis=1).astype(np.float64)


def evaluator(n_objectives: int = 1, constraint: float | None = None) -> Evaluator:
    objectives = [Objective("distance", distance), Objective("params", params)][:n_objectives]
    metrics = [Objective("params", params)]
    constraints = [Constraint("params", "<=", constraint, f"params<={constraint:g}")] if constraint is not None else []
    return Evaluator(SPACE, objectives, metrics, constraints)


def all_genomes() -> np.ndarray:
    grid = np.indices(tuple(SPACE.n_options)).reshape(SPACE.n_genes, -1).T
    return np.ascontiguousarray(grid, dtype=np.int64)


def copy_archive(archive):
    """A fresh archive holding ``archive``'s rows generation by generation (what a resumed run reloads)."""
    copy = archive.empty_like()
    for g in range(int(archive.generations.max()) + 1 if len(archive) else 0):
        rows = np.flatnonzero(archive.generations == g)
        copy.add(archive.genomes[rows], archive.values_for(rows), g, archive.F[rows], archive.G[rows])
    return copy
