"""Predicted-vs-measured scatter PNG (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from search_spaces.errors import InvalidInput

__all__ = ["scatter_png", "check_png_path"]


def check_png_path(path: str | Path) -> Path:
    """``path`` if a PNG can be written there (checked before any work is done), else ``InvalidInput``."""
    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"plot path {path} is a directory; expected a file name ending in .png")
    if path.suffix.lower() != ".png":
        raise InvalidInput(f"plot file {path} must end in .png (the scatter plot is a PNG image)")
    return path


def scatter_png(measured: np.ndarray, predicted: np.ndarray, path: str | Path, title: str, metrics: dict,
                unit: str = "%") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = check_png_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.2, 5.0), dpi=120)
    ax.scatter(measured, predicted, s=6, alpha=0.5, linewidths=0)
    lo = float(min(np.min(measured), np.min(predicted)))
    hi = float(max(np.max(measured), np.max(predicted)))
    ax.plot([lo, hi], [lo, hi], color="0.4", lw=0.8, ls="--", label="y = x")
    ax.set_xlabel(f"measured ({unit})")
    ax.set_ylabel(f"predicted ({unit})")
    ax.set_title(title, fontsize=9)
    text = "\n".join(f"{label} {metrics[key]:.3f}" if key in metrics else f"{label} n/a"
                     for key, label in (("kendall_tau", "Kendall tau"), ("spearman_rho", "Spearman"), ("rmse", "RMSE")))
    text += f"\nn = {metrics.get('n', len(measured))}"
    ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", fontsize=8, family="monospace")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    try:
        fig.savefig(tmp)
        tmp.replace(path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path
