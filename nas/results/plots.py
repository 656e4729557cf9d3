"""Plots people would rather see than read: the searched subnets and their Pareto front."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from ..io import atomic_path
from ..search.constraints import METRICS

__all__ = ["plot_pareto"]


def _label(metric: str) -> str:
    unit = METRICS.get(metric, ("",))[0]
    return f"{metric} ({unit})" if unit else metric


def plot_pareto(df: pd.DataFrame, front: pd.DataFrame, x: str, y: str, path: str | Path, title: str = "",
                constraints: Sequence = ()) -> Path:
    """Scatter of every evaluated subnet (x vs y) with the Pareto front and constraint bounds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    feasible = df["feasible"].astype(bool) if "feasible" in df else pd.Series(True, index=df.index)
    ax.scatter(df.loc[~feasible, x], df.loc[~feasible, y], s=6, c="#cccccc", label="infeasible")
    ax.scatter(df.loc[feasible, x], df.loc[feasible, y], s=6, c="#7aa6c2", label="evaluated")
    if not front.empty:
        f = front.sort_values(x)
        ax.plot(f[x], f[y], "-o", c="#d1495b", ms=3.5, lw=1.2, label=f"Pareto front ({len(f)})")
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
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
