"""One trial of a sweep, in a Ray Tune worker: a ``nas train`` run in ``<sweep>/trials/<trial id>``
reporting every epoch, with that epoch's training checkpoint handed to Tune.

A trial Tune restores (after a kill of the sweep) gets the checkpoint of its last reported epoch
back; the run directory continues from exactly that epoch (``nas train --resume``), so ASHA's epoch
count and the run's agree. A trial killed before its first report starts over.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from ..train.loop import RunFiles
from .params import split_trial_config

__all__ = ["run_trial", "trial_metrics"]


def trial_metrics(row: dict) -> dict:
    """The numbers of an epoch's metrics row, plus ``val_acc_mean`` (the mean of the largest and the
    smallest subnet's held-out top-1: how well the supernet serves both ends of its space)."""
    out = {k: float(v) for k, v in row.items()
           if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
    if "val_acc_max" in out and "val_acc_min" in out:
        out["val_acc_mean"] = (out["val_acc_max"] + out["val_acc_min"]) / 2
    return out


def run_trial(config: dict, *, base: dict, sweep_dir: str, threads: int) -> None:
    """Tune's trainable: ``config`` holds the sampled values, ``base`` the sweep's fixed TrainConfig."""
    from ray import tune

    from ..train.run import train

    run = Path(sweep_dir) / "trials" / tune.get_context().get_trial_id()
    files = RunFiles(run)
    checkpoint = tune.get_checkpoint()
    last: list[dict] = []

    def report(row: dict) -> None:
        if row["epoch"] + 1 == base["epochs"]:
            last.append(row)  # Tune ends a trial at its last report: first let the run write supernet.pt
            return
        tune.report(trial_metrics(row), checkpoint=tune.Checkpoint.from_directory(str(files.checkpoint.parent)))

    if checkpoint is not None and files.config.is_file():
        with checkpoint.as_directory() as folder:  # the state of the last epoch Tune recorded
            shutil.copyfile(Path(folder) / files.checkpoint.name, files.checkpoint)
        train(resume=run, threads=threads, on_epoch=report)
    else:
        if run.exists():
            shutil.rmtree(run)  # killed before its first report: nothing of it was recorded
        settings, options = split_trial_config(config, base["strategy"])
        fixed = {k: v for k, v in base.items() if k not in ("space", "strategy", "data", "epochs")}
        fixed["strategy_options"] = {**fixed.get("strategy_options", {}), **options}
        train(base["space"], base["strategy"], base["data"], epochs=base["epochs"], out=run, threads=threads,
              on_epoch=report, **{**fixed, **settings})
    for row in last:
        tune.report(trial_metrics(row), checkpoint=tune.Checkpoint.from_directory(str(files.checkpoint.parent)))
