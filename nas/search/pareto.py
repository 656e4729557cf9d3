"""Pareto fronts and hypervolume, from pymoo."""

from __future__ import annotations

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

__all__ = ["pareto_mask", "pareto_ranks", "hypervolume"]


def pareto_ranks(F: np.ndarray) -> np.ndarray:
    """Non-dominated front index of each row of ``F`` (minimization; 0 = first front)."""
    F = np.asarray(F, dtype=np.float64)
    if len(F) == 0:
        return np.empty(0, dtype=np.int64)
    if F.shape[1] == 1:
        order = np.unique(F[:, 0], return_inverse=True)[1]
        return order.astype(np.int64)
    ranks = np.empty(len(F), dtype=np.int64)
    for r, front in enumerate(NonDominatedSorting().do(F)):
        ranks[front] = r
    return ranks


def pareto_mask(F: np.ndarray) -> np.ndarray:
    """True for rows on the first non-dominated front (minimization)."""
    F = np.asarray(F, dtype=np.float64)
    mask = np.zeros(len(F), dtype=bool)
    if len(F):
        if F.shape[1] == 1:
            mask[F[:, 0] == F[:, 0].min()] = True
        else:
            mask[NonDominatedSorting().do(F, only_non_dominated_front=True)] = True
    return mask


def hypervolume(F: np.ndarray, ref_point: np.ndarray) -> float:
    """Hypervolume dominated by ``F`` (minimization) up to ``ref_point``; points beyond it count zero."""
    F = np.asarray(F, dtype=np.float64)
    ref = np.asarray(ref_point, dtype=np.float64)
    inside = np.all(F < ref, axis=1)
    if not inside.any():
        return 0.0
    return float(HV(ref_point=ref)(F[inside]))
