"""How well predictions rank and match measured values: Kendall tau, Spearman rho, RMSE, top-k precision."""

from __future__ import annotations

import numpy as np
from scipy import stats

from search_spaces.errors import InvalidInput

__all__ = ["kendall_tau", "spearman_rho", "rmse", "top_k_precision", "quality"]


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).reshape(-1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if t.shape != p.shape:
        raise InvalidInput(f"got {t.size} measured values but {p.size} predictions")
    if t.size < 2:
        raise InvalidInput("quality metrics need at least 2 subnets")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(p))):
        raise InvalidInput("measured values and predictions must be finite (no NaN)")
    return t, p


def kendall_tau(y_true, y_pred) -> float:
    """Kendall's tau-b (ties counted as scipy does)."""
    t, p = _pair(y_true, y_pred)
    return float(stats.kendalltau(t, p).statistic)


def spearman_rho(y_true, y_pred) -> float:
    t, p = _pair(y_true, y_pred)
    return float(stats.spearmanr(t, p).statistic)


def rmse(y_true, y_pred) -> float:
    t, p = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def top_k_precision(y_true, y_pred, k: int | float = 0.1) -> float:
    """Share of the truly best ``k`` subnets (a count, or a fraction of all) the prediction also puts in its best k."""
    t, p = _pair(y_true, y_pred)
    n = int(round(k * t.size)) if isinstance(k, float) and k < 1 else int(k)
    if not 1 <= n <= t.size:
        raise InvalidInput(f"top-k needs 1 <= k <= {t.size}; got {k}")
    best_true = np.argsort(-t, kind="stable")[:n]
    best_pred = np.argsort(-p, kind="stable")[:n]
    return float(np.intersect1d(best_true, best_pred).size / n)


def quality(y_true, y_pred, top_k: float = 0.1) -> dict[str, float]:
    """Every metric at once, as the JSON-able dict predictor metadata and reports carry."""
    t, p = _pair(y_true, y_pred)
    return {
        "kendall_tau": kendall_tau(t, p),
        "spearman_rho": spearman_rho(t, p),
        "rmse": rmse(t, p),
        "bias": float(np.mean(p - t)),
        f"top{int(round(top_k * 100))}pct_precision": top_k_precision(t, p, top_k),
        "n": int(t.size),
    }
