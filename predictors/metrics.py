"""How well predictions rank and match measured values: Kendall tau, Spearman rho, RMSE, top-k precision."""

from __future__ import annotations

from typing import Any

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
        raise InvalidInput(f"quality metrics need at least 2 measured subnets; got {t.size}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(p))):
        raise InvalidInput("measured values and predictions must be finite (no NaN)")
    return t, p


def kendall_tau(y_true, y_pred) -> float:
    """Kendall's tau-b (ties counted as scipy does); NaN where all measured or all predicted values are equal."""
    t, p = _pair(y_true, y_pred)
    if _constant(t) or _constant(p):
        return float("nan")  # undefined (scipy would say so with a warning)
    return float(stats.kendalltau(t, p).statistic)


def spearman_rho(y_true, y_pred) -> float:
    """Spearman's rank correlation; NaN where all measured or all predicted values are equal."""
    t, p = _pair(y_true, y_pred)
    if _constant(t) or _constant(p):
        return float("nan")
    return float(stats.spearmanr(t, p).statistic)


def _constant(x: np.ndarray) -> bool:
    return bool(np.all(x == x[0]))


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


def quality(y_true, y_pred, top_k: float = 0.1) -> dict[str, Any]:
    """Every metric that is defined on this data, as the JSON-able dict predictor metadata and reports carry.

    A metric that is not defined is left out and explained under ``"undefined"`` (metric -> reason): rank
    correlations when all measured (or all predicted) values are equal, top-k precision with fewer than
    ``1 / top_k`` subnets (its top k would hold no subnet).
    """
    t, p = _pair(y_true, y_pred)
    if not 0 < top_k < 1:
        raise InvalidInput(f"top_k must be a fraction between 0 and 1; got {top_k}")
    out: dict[str, Any] = {}
    undefined: dict[str, str] = {}
    for key, fn in (("kendall_tau", kendall_tau), ("spearman_rho", spearman_rho)):
        if _constant(t) or _constant(p):
            undefined[key] = f"all {'measured' if _constant(t) else 'predicted'} values are equal"
        else:
            out[key] = fn(t, p)
    out["rmse"] = rmse(t, p)
    out["bias"] = float(np.mean(p - t))
    top_key = f"top{int(round(top_k * 100))}pct_precision"
    need = int(np.ceil(1 / top_k - 1e-9))
    if t.size >= need:
        out[top_key] = top_k_precision(t, p, max(1, int(round(top_k * t.size))))
    else:
        undefined[top_key] = f"needs at least {need} subnets; got {t.size}"
    out["n"] = int(t.size)
    if undefined:
        out["undefined"] = undefined
    return out
