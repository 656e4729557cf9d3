"""Per-epoch training metrics: ``metrics.csv`` (one row per epoch, flushed before the checkpoint that
counts it, truncated on resume to the checkpointed epochs) and ``training.png`` (loss and accuracy)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..errors import RunDirectoryError
from ..io import atomic_path, save_figure

__all__ = ["append_metrics", "read_metrics", "truncate_metrics", "plot_training"]


def append_metrics(path: Path, row: dict) -> None:
    df = pd.DataFrame([row])
    header = not path.exists() or path.stat().st_size == 0
    if not header:  # columns are fixed by the first row; later rows follow that order
        columns = list(pd.read_csv(path, nrows=0).columns)
        df = df.reindex(columns=columns + [c for c in df.columns if c not in columns])
        if len(df.columns) > len(columns):
            full = pd.concat([read_metrics(path), df], ignore_index=True)
            with atomic_path(path) as tmp:
                full.to_csv(tmp, index=False)
            return
    with open(path, "a", newline="") as f:
        df.to_csv(f, header=header, index=False)
        f.flush()
        os.fsync(f.fileno())


def read_metrics(path: Path) -> pd.DataFrame:
    if not path.exists() or path.stat().st_size == 0:
        return pd.DataFrame()
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise RunDirectoryError(f"{path} is corrupt: {str(exc).splitlines()[0]}") from None
    if "epoch" not in df.columns or not pd.api.types.is_integer_dtype(df["epoch"]):
        raise RunDirectoryError(f"{path} is damaged: it needs an integer 'epoch' column (one row per epoch)")
    return df


def truncate_metrics(path: Path, epochs: int) -> None:
    """Keep the rows of the first ``epochs`` epochs (those the checkpoint being resumed covers)."""
    df = read_metrics(path)
    if df.empty or (df["epoch"] < epochs).all():
        return
    with atomic_path(path) as tmp:
        df[df["epoch"] < epochs].to_csv(tmp, index=False)


def plot_training(df: pd.DataFrame, path: Path, title: str = "") -> None:
    """Training loss per epoch and held-out accuracy of the max and min subnets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=110)
    epochs = df["epoch"] + 1
    for col in [c for c in df.columns if c.startswith("loss")]:
        ax_loss.plot(epochs, df[col], "-o", ms=3, label=col)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss")
    ax_loss.legend(fontsize=8)
    for col in [c for c in df.columns if c.startswith("val_acc")]:
        rows = df[col].notna()
        ax_acc.plot(epochs[rows], df.loc[rows, col], "-o", ms=3, label=col.replace("val_acc_", "held-out, "))
    if "train_acc" in df:
        ax_acc.plot(epochs, df["train_acc"], "--", c="#999999", label="train (first subnet of the step)")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("top-1 accuracy (%)")
    ax_acc.legend(fontsize=8)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
