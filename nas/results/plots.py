"""Plots people would rather see than read: the searched subnets and their Pareto front."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..io import save_figure
from ..search.constraints import METRICS

__all__ = ["plot_pareto", "plot_front", "thin_points"]


def _label(metric: str) -> str:
    unit = METRICS.get(metric, ("",))[0]
    return f"{metric} ({unit})" if unit else metric


def plot_pareto(df: pd.DataFrame, front: pd.DataFrame, x: str, y: str, path: str | Path, title: str = "",
                constraints: Sequence = ()) -> Path:
    """Scatter of every evaluated subnet (x vs y) with the Pareto front and constraint bounds."""
    feasible = df["feasible"].astype(bool).to_numpy() if "feasible" in df else np.ones(len(df), dtype=bool)
    f = front.sort_values(x) if not front.empty else front
    return plot_front(df[x].to_numpy(float), df[y].to_numpy(float), feasible,
                      f[x].to_numpy(float) if not f.empty else np.empty(0),
                      f[y].to_numpy(float) if not f.empty else np.empty(0), x, y, path, title, constraints)


#: pixels of the plot's axes (about): beyond this many points, one marker per occupied cell of a grid this
#: fine draws the same picture as every point (markers are ~4 px wide), in bounded time and memory
GRID = (800, 560)


def thin_points(px: np.ndarray, py: np.ndarray, grid: tuple[int, int] = GRID,
                bounds: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """Indices of one point per occupied cell of a ``grid`` over ``bounds`` (the first point of each
    cell, in order); every index when there are fewer points than cells. Non-finite points are dropped."""
    ok = np.flatnonzero(np.isfinite(px) & np.isfinite(py))
    if len(ok) <= grid[0] * grid[1] // 8:
        return ok
    x0, x1, y0, y1 = bounds if bounds is not None else (px[ok].min(), px[ok].max(), py[ok].min(), py[ok].max())
    cx = np.clip(((px[ok] - x0) / ((x1 - x0) or 1.0) * (grid[0] - 1)).round(), 0, grid[0] - 1).astype(np.int64)
    cy = np.clip(((py[ok] - y0) / ((y1 - y0) or 1.0) * (grid[1] - 1)).round(), 0, grid[1] - 1).astype(np.int64)
    _, first = np.unique(cx * grid[1] + cy, return_index=True)
    return ok[np.sort(first)]


def plot_front(px: np.ndarray, py: np.ndarray, feasible: np.ndarray, fx: np.ndarray, fy: np.ndarray, x: str, y: str,
               path: str | Path, title: str = "", constraints: Sequence = ()) -> Path:
    """``plot_pareto`` from arrays: every subnet's ``(px, py)`` (thinned to one marker per pixel-sized cell
    when there are many), whether it is feasible, and the front's ``(fx, fy)`` sorted by x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    px, py = np.asarray(px, dtype=np.float64), np.asarray(py, dtype=np.float64)
    feasible = np.asarray(feasible, dtype=bool)
    finite = np.isfinite(px) & np.isfinite(py)
    bounds = (px[finite].min(), px[finite].max(), py[finite].min(), py[finite].max()) if finite.any() else None
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for mask, colour, label in ((~feasible, "#cccccc", "infeasible"), (feasible, "#7aa6c2", "evaluated")):
        rows = np.flatnonzero(mask)
        keep = rows[thin_points(px[rows], py[rows], bounds=bounds)] if bounds is not None else rows[:0]
        ax.scatter(px[keep], py[keep], s=6, c=colour, label=label)
    if len(fx):
        ax.plot(fx, fy, "-o", c="#d1495b", ms=3.5, lw=1.2, label=f"Pareto front ({len(fx)})")
    for c in constraints:
        if c.metric == x:
            ax.axvline(c.bound, ls="--", c="k", lw=0.8)
        elif c.metric == y:
            ax.axhline(c.bound, ls="--", c="k", lw=0.8)
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return save_figure(fig, path)
