"""``nas tune``: sweep a training strategy's options and the optimizer's with Ray Tune."""

from __future__ import annotations

import threading
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..tune import KINDS, METRICS, TRAIN_SETTINGS, tune_training
from ._common import app, console, parse_options, print_json, user_errors


class _SweepProgress:
    """Epochs reported over all trials, read from the trials' run directories once a second."""

    def __init__(self, sweep: Path | None, metric: str, total: int, enabled: bool):
        self.sweep, self.metric, self.enabled = sweep, metric, enabled and sweep is not None
        self.progress = Progress(TextColumn("[bold]tuning"), BarColumn(), TextColumn("{task.fields[text]}"),
                                 TimeElapsedColumn(), disable=not self.enabled, transient=True)
        self.task = self.progress.add_task("tune", total=total, text="starting Ray")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self):
        if self.enabled:
            self.progress.start()
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.enabled:
            self.thread.join(timeout=5)
            self.progress.stop()

    def _poll(self) -> None:
        from ..tune.report import sweep_progress

        while not self.stop.wait(1.0):
            started, reported, best = sweep_progress(self.sweep, self.metric)
            text = f"{started} trials started, {reported} epochs reported" + \
                (f", best {self.metric} {best:.2f}" if best is not None else "")
            self.progress.update(self.task, completed=reported, text=text)


@app.command("tune")
@user_errors
def tune(
    space: str = typer.Option(None, "--space", "-s", help="Space whose supernet the trials train."),
    strategy: str = typer.Option(None, "--strategy", help="Training strategy to sweep (see `nas strategies`)."),
    data: str = typer.Option(None, "--data", "-d", help="ImageFolder dir, its .tar.gz, an .npz, or synthetic."),
    epochs: int = typer.Option(None, "--epochs", "-e", min=1, help="Epochs of a trial that ASHA lets finish."),
    param: list[str] = typer.Option(None, "--param", "-p",
                                    help=f"What to sweep, name=kind(args), kind in {', '.join(KINDS)}; name a "
                                         f"strategy option or one of {', '.join(TRAIN_SETTINGS)} (repeatable)."),
    trials: int = typer.Option(8, "--trials", "-n", min=1, help="Trials (training runs) in the sweep."),
    metric: str = typer.Option("val_acc_mean", "--metric",
                               help=f"What to optimize, reported every epoch: {', '.join(METRICS)} "
                                    "(val_acc_mean: mean of the largest and smallest subnets' held-out top-1)."),
    grace_period: int = typer.Option(1, "--grace-period", min=1, help="ASHA: epochs before a trial may be stopped."),
    reduction_factor: int = typer.Option(2, "--reduction-factor", min=2, help="ASHA: keep 1/this at each rung."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of Optuna's sampler (trials keep their own --seed)."),
    option: list[str] = typer.Option(None, "--option", "-o", help="Fixed strategy option key=value (repeatable)."),
    batch_size: int = typer.Option(None, "--batch-size", "-b", min=1, help="Fixed batch size of every trial."),
    lr: float = typer.Option(None, "--lr", help="Fixed learning rate (unless swept)."),
    optimizer: str = typer.Option(None, "--optimizer", help="Fixed optimizer: sgd or adamw (unless swept)."),
    holdout: float = typer.Option(None, "--holdout", help="Share (or count) of training images held out [0.1]."),
    steps: int = typer.Option(None, "--steps-per-epoch", min=1, help="Cap optimizer steps per epoch."),
    eval_images: int = typer.Option(None, "--eval-images", min=1, help="Held-out images per epoch's evaluation."),
    bn_images: int = typer.Option(None, "--bn-images", min=1, help="Images for BN recalibration per evaluation."),
    out: Path = typer.Option(None, "--out", help="Sweep directory to create."),
    resume: Path = typer.Option(None, "--resume", help="Continue the killed sweep in this directory."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Trials running at once (one CPU each)."),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster to run on (default: a local Ray)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
) -> None:
    """Sweep training hyperparameters (Optuna's TPE proposes, ASHA stops laggards); writes trials.csv,
    best.json and tune.png. Example: nas tune --space ofa-mbv3-cifar --strategy deps --data D --epochs 4
    -p 'shrink_start=uniform(0.3,0.7)' -p 'lr=loguniform(0.01,0.2)' --trials 8 --out runs/tune."""
    given = {"batch_size": batch_size, "lr": lr, "optimizer": optimizer, "holdout": holdout, "steps_per_epoch": steps,
             "eval_images": eval_images, "bn_images": bn_images,
             "strategy_options": parse_options(option) if option else None}
    settings = {k: v for k, v in given.items() if v is not None}
    show = not (json_out or no_progress)
    sweep = resume or out
    with _SweepProgress(sweep, metric, trials * (epochs or 1), show):
        result = tune_training(space, strategy, data, epochs=epochs, params=param or (), trials=trials, metric=metric,
                               seed=seed, out=out, resume=resume, workers=workers, ray_address=ray_address,
                               grace_period=grace_period, reduction_factor=reduction_factor, **settings)
    if json_out:
        print_json({"sweep_dir": result.sweep_dir, "elapsed_s": round(result.elapsed_s, 2), "resumed": result.resumed,
                    "best": result.best, "trials": result.trials.to_dict("records")})
        return
    table = Table(title=f"{len(result.trials)} trials ({result.best['metric']}, best first)")
    for col in result.trials.columns:
        if col != "run_dir":
            table.add_column(col, justify="left" if col in ("trial_id", "status") else "right")
    for row in result.trials.head(20).itertuples(index=False):
        table.add_row(*[_fmt(v) for k, v in zip(result.trials.columns, row) if k != "run_dir"])
    console.print(table)
    best = result.best
    if best.get("trial_id") is None:
        console.print("[red]no trial reported an epoch[/red]")
    else:
        console.print(f"best: {best['metric']} {best['value']:.2f} with "
                      + ", ".join(f"{k}={_fmt(v)}" for k, v in best["values"].items()))
        console.print(f"  repeat it: {escape(best['command'])}")
    console.print(f"sweep directory: {result.sweep_dir} (trials.csv, best.json, tune.png, trials/) "
                  f"in {result.elapsed_s:.0f} s" + (" (resumed)" if result.resumed else ""))


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
