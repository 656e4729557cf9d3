"""A finished sweep's record: ``trials.csv`` (one row per trial), ``best.json`` (the best trial's
values, its run directory and the ``nas train`` command that repeats it) and ``tune.png`` (the
metric per epoch of every trial). Read from the trials' own run directories, so that a resumed
sweep reports what an uninterrupted one does."""

from __future__ import annotations

import math
import shlex
from pathlib import Path

import pandas as pd

from search_spaces.errors import NasError

from ..io import atomic_path, save_figure, write_json
from ..train.loop import RunFiles
from ..train.metrics import read_metrics
from .params import parse_param, split_trial_config
from .trial import trial_metrics

__all__ = ["write_reports", "sweep_progress"]

TRIALS, BEST, PLOT = "trials.csv", "best.json", "tune.png"


def _curve(run: Path, metric: str) -> list[float]:
    metrics = RunFiles(run).metrics
    if not metrics.is_file():
        return []
    rows = [trial_metrics(r) for r in read_metrics(metrics).to_dict("records")]
    return [r[metric] for r in rows if metric in r]


def write_reports(sweep: Path, setup: dict, grid) -> tuple[pd.DataFrame, dict]:
    metric, mode, epochs = setup["metric"], setup["mode"], setup["base"]["epochs"]
    names = [parse_param(p).name for p in setup["params"]]
    rows, curves = [], {}
    for result in grid:
        trial_id = (result.metrics or {}).get("trial_id") or Path(result.path).name.split("_")[-1]
        run = sweep / "trials" / trial_id
        curve = _curve(run, metric)
        curves[trial_id] = curve
        done = len(curve)
        status = "error" if result.error is not None else "finished" if done >= epochs else \
            f"stopped by ASHA after epoch {done}"
        rows.append({"trial_id": trial_id, "status": status, "epochs": done,
                     metric: curve[-1] if curve else math.nan,
                     **{n: (result.config or {}).get(n) for n in names}, "run_dir": str(run)})
    table = pd.DataFrame(rows).sort_values(metric, ascending=mode == "min", na_position="last",
                                           kind="stable").reset_index(drop=True)
    with atomic_path(sweep / TRIALS) as tmp:
        table.to_csv(tmp, index=False)
    best = _best(table, setup, names)
    write_json(sweep / BEST, best)
    _plot(curves, best.get("trial_id"), metric, sweep / PLOT,
          f"{setup['base']['space']} - {setup['base']['strategy']}: {len(rows)} trials")
    return table, best


def _best(table: pd.DataFrame, setup: dict, names: list[str]) -> dict:
    metric = setup["metric"]
    measured = table.dropna(subset=[metric])
    if measured.empty:
        return {"metric": metric, "mode": setup["mode"], "trial_id": None, "trials": len(table),
                "note": "no trial reported an epoch"}
    top = measured.iloc[0]
    values = {n: _plain(top[n]) for n in names}
    settings, options = split_trial_config(values, setup["base"]["strategy"])
    run = Path(top["run_dir"])
    return {"metric": metric, "mode": setup["mode"], "value": float(top[metric]), "trial_id": top["trial_id"],
            "epochs": int(top["epochs"]), "status": top["status"], "values": values, "run_dir": str(run),
            "supernet": str(RunFiles(run).final) if RunFiles(run).final.is_file() else None,
            "trials": len(table), "command": _train_command(setup["base"], settings, options),
            "train_settings": _trial_settings(run)}


def _trial_settings(run: Path) -> dict | None:
    """Every TrainConfig field of the trial (``nas.train.train(**settings, out=...)`` repeats it exactly)."""
    from ..io import read_json

    try:
        return read_json(RunFiles(run).config)["train"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _train_command(base: dict, settings: dict, options: dict) -> str:
    """The ``nas train`` line that trains the best configuration for the sweep's epochs (every setting, with
    those it has no flag for, such as label_smoothing, is in ``train_settings``)."""
    words = ["nas", "train", "--space", base["space"], "--strategy", base["strategy"], "--data", base["data"],
             "--epochs", str(base["epochs"])]
    flagged = ("batch_size", "lr", "optimizer", "momentum", "weight_decay", "seed", "holdout", "steps_per_epoch",
               "eval_images", "bn_images", "label_smoothing")
    for key, value in {**{k: base[k] for k in flagged}, **settings}.items():
        if value is not None:
            words += [f"--{key.replace('_', '-')}", str(value)]
    for key, value in {**base.get("strategy_options", {}), **options}.items():
        words += ["-o", f"{key}={value}"]
    return " ".join(shlex.quote(w) for w in words) + " --out runs/best"


def _plot(curves: dict[str, list[float]], best: str | None, metric: str, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for trial_id, curve in curves.items():
        if not curve:
            continue
        epochs = range(1, len(curve) + 1)
        if trial_id == best:
            ax.plot(epochs, curve, color="tab:red", lw=2.2, marker="o", label=f"best ({trial_id})", zorder=3)
        else:
            ax.plot(epochs, curve, color="tab:gray", lw=1, alpha=0.7)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(title + " (ASHA stops the grey lines that end early)")
    if best is not None:
        ax.legend(loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)


def sweep_progress(sweep: Path, metric: str) -> tuple[int, int, float | None]:
    """(trials started, epochs reported, best metric so far) from the trials' run directories: what a
    progress bar shows while Tune runs."""
    started = reported = 0
    best = None
    for run in sorted((sweep / "trials").glob("*")) if (sweep / "trials").is_dir() else []:
        started += 1
        try:
            curve = _curve(run, metric)
        except (OSError, ValueError, NasError):  # being written
            continue
        reported += len(curve)
        if curve:
            best = curve[-1] if best is None else max(best, curve[-1]) if metric != "loss" else min(best, curve[-1])
    return started, reported, best
