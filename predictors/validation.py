"""Grouped k-fold cross-validation: a repeated arch never sits on both sides of a fold."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from search_spaces.errors import InvalidInput

from ._base import Predictor, check_seed, create_predictor
from .data import LabelledSubnets
from .metrics import quality

__all__ = ["CVResult", "cross_validate", "fold_ids", "check_folds"]


@dataclass
class CVResult:
    predicted: np.ndarray  # out-of-fold prediction per row
    metrics: dict[str, float]  # on all out-of-fold predictions pooled
    per_fold: list[dict[str, float]] = field(default_factory=list)
    fit_s: float = 0.0  # median seconds per fold fit
    folds: int = 0
    seed: int = 0

    def summary(self) -> dict[str, Any]:
        taus = [f.get("kendall_tau") for f in self.per_fold]  # None where a fold's tau is undefined
        return {**self.metrics, "folds": self.folds, "grouped": True, "seed": self.seed,
                "kendall_tau_per_fold": taus, "fit_s_median": self.fit_s}


def check_folds(folds: int, n_archs: int) -> int:
    """``folds`` as an int, or ``InvalidInput``: cross-validation needs 2 or more folds, each with at least 2
    distinct subnets (so that every held-out fold can be scored)."""
    if isinstance(folds, (bool, np.bool_)) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise InvalidInput(f"cross-validation folds must be an integer >= 2 (or 0 to skip cross-validation); "
                           f"got {folds!r}")
    if 2 * folds > n_archs:
        data = "no rows" if n_archs == 0 else f"{n_archs} distinct subnet{'s' if n_archs != 1 else ''}"
        fewer = f"use at most {n_archs // 2} folds or none" if n_archs >= 4 else "skip cross-validation (0 folds)"
        raise InvalidInput(f"{folds}-fold cross-validation needs at least {2 * folds} distinct subnets (2 per fold) "
                           f"but the data has {data}: {fewer}")
    return int(folds)


def fold_ids(groups: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """A fold number per row; all rows of a group share it, groups are shuffled with ``seed``."""
    uniq, inverse = np.unique(groups, return_inverse=True)
    folds = check_folds(folds, len(uniq))
    seed = check_seed(seed)
    order = np.random.default_rng(seed).permutation(len(uniq))
    group_fold = np.empty(len(uniq), dtype=np.int64)
    group_fold[order] = np.arange(len(uniq)) % folds
    return group_fold[inverse.reshape(-1)]


def cross_validate(make: Callable[[], Predictor] | str, data: LabelledSubnets, folds: int = 5, seed: int = 0,
                   on_fold: Callable[[int], None] | None = None, **params: Any) -> CVResult:
    """Fit ``make()`` (or a kind name with ``params``) on k-1 folds, predict the held-out fold, pool the predictions."""
    factory = (lambda: create_predictor(make, data.space, **params)) if isinstance(make, str) else make
    fold = fold_ids(data.groups, folds, seed)
    X = factory().featurize(data.genomes)
    predicted = np.empty(len(data))
    per_fold, times = [], []
    for k in range(folds):
        test = fold == k
        start = time.perf_counter()
        model = factory().fit_features(X[~test], data.y[~test], seed)
        times.append(time.perf_counter() - start)
        predicted[test] = model.predict_features(X[test])
        per_fold.append(quality(data.y[test], predicted[test]))
        if on_fold is not None:
            on_fold(k)
    return CVResult(predicted, quality(data.y, predicted), per_fold, float(np.median(times)), folds, seed)
