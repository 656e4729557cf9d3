"""Pareto fronts and hypervolume, from pymoo."""

from __future__ import annotations

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

__all__ = ["pareto_mask", "pareto_ranks", "hypervolume", "select_best"]


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


def select_best(F: np.ndarray, n: int, violation: np.ndarray | None = None) -> np.ndarray:
    """Indices of ``n`` rows chosen as NSGA-II's survival does: feasible first (least violation), then
    by non-dominated front, the last front cut by crowding distance (pymoo's)."""
    from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance

    F = np.asarray(F, dtype=np.float64)
    if n >= len(F):
        n = len(F)
    violation = np.zeros(len(F)) if violation is None else np.asarray(violation, dtype=np.float64)
    chosen: list[np.ndarray] = []
    feasible = np.flatnonzero(violation <= 0)
    ranks = np.full(len(F), np.iinfo(np.int64).max)
    ranks[feasible] = pareto_ranks(F[feasible])
    total = 0
    for r in np.unique(ranks[feasible]):
        front = feasible[ranks[feasible] == r]
        if total + len(front) > n:
            crowd = calc_crowding_distance(F[front]) if F.shape[1] > 1 else np.zeros(len(front))
            front = front[np.argsort(-crowd, kind="stable")[: n - total]]
        chosen.append(front)
        total += len(front)
        if total >= n:
            break
    if total < n:
        infeasible = np.flatnonzero(violation > 0)
        chosen.append(infeasible[np.argsort(violation[infeasible], kind="stable")[: n - total]])
    return np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)
