"""``nas train`` and ``nas strategies``: train a supernet (in this process or on Ray Train workers)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import InvalidInput
from ..train import STRATEGIES
from ..train import train as run_training
from ._common import app, console, parse_options, print_json, user_errors


class _TrainProgress:
    """One bar per epoch over its optimizer steps, with the running loss; a line per finished epoch."""

    def __init__(self, enabled: bool):
        self.progress = Progress(TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("loss {task.fields[loss]:.3f}"), TimeElapsedColumn(),
                                 disable=not enabled, transient=True)
        self.task = None
        self.enabled = enabled
        self._started = False

    def __enter__(self):
        return self  # the bar appears with the first step, after the input was checked

    def __exit__(self, *exc):
        if self._started:
            self.progress.__exit__(*exc)

    def step(self, epoch: int, step: int, steps: int, loss: float) -> None:
        if not self._started:
            self._started = True
            self.progress.__enter__()
        if self.task is None or step == 1:
            if self.task is not None:
                self.progress.remove_task(self.task)
            self.task = self.progress.add_task("train", total=steps, epoch=epoch + 1, loss=loss)
        self.progress.update(self.task, completed=step, loss=loss)

    def log(self, line: str) -> None:
        if self.enabled:
            (self.progress.console if self._started else console).print(line)


@app.command("train")
@user_errors
def train(
    space: str = typer.Option(None, "--space", "-s", help="Space whose supernet to train (e.g. ofa-mbv3-cifar)."),
    strategy: str = typer.Option(None, "--strategy", help="Training strategy (see `nas strategies`)."),
    epochs: int = typer.Option(None, "--epochs", "-e", min=1, help="Epochs (the strategy's schedule spans them)."),
    data: str = typer.Option(None, "--data", "-d", help="ImageFolder dir, its .tar.gz, an .npz, or synthetic."),
    out: Path = typer.Option(None, "--out", help="Run directory to create."),
    resume: Path = typer.Option(None, "--resume", help="Continue the training run in this directory."),
    batch_size: int = typer.Option(None, "--batch-size", "-b", min=1, help="Global batch, split over workers [64]."),
    lr: float = typer.Option(None, "--lr", help="Base learning rate; strategies scale it per phase [0.05]."),
    optimizer: str = typer.Option(None, "--optimizer", help="sgd (Nesterov, once-for-all's) or adamw [sgd]."),
    momentum: float = typer.Option(None, "--momentum", min=0,
                                   help="SGD momentum, or AdamW's beta1 [0.9]."),
    weight_decay: float = typer.Option(None, "--weight-decay", min=0, help="Weight decay (not on BN, biases) [3e-5]."),
    label_smoothing: float = typer.Option(None, "--label-smoothing", min=0, help="Label smoothing, in [0, 1) [0.1]."),
    seed: int = typer.Option(None, "--seed", min=0, help="Seed of every random choice [0]."),
    option: list[str] = typer.Option(None, "--option", "-o", help="Strategy option key=value (repeatable)."),
    mixup: float = typer.Option(None, "--mixup", min=0, help="Mixup alpha (DeiT: 0.8; 0: off) [0]."),
    cutmix: float = typer.Option(None, "--cutmix", min=0, help="Cutmix alpha (DeiT: 1.0; 0: off) [0]."),
    pad_mode: str = typer.Option(None, "--pad-mode", help="What the random crop's 4-pixel shift uncovers: zeros "
                                                          "(the usual recipe) or reflect (no black band, which "
                                                          "clean test images never have) [zeros]."),
    supernet_option: list[str] = typer.Option(None, "--supernet-option",
                                              help="Supernet build option key=value (repeatable): a keyword of the "
                                                   "space's supernet (an unknown key lists the known ones)."),
    holdout: float = typer.Option(None, "--holdout", help="Share (or count) of training images held out [0.1]."),
    steps: int = typer.Option(None, "--steps-per-epoch", min=1, help="Cap optimizer steps per epoch (quick runs)."),
    eval_every: int = typer.Option(None, "--eval-every", min=0,
                                   help="Evaluate max/min subnets every N epochs (0: never) [1]."),
    eval_images: int = typer.Option(None, "--eval-images", min=0,
                                    help="Held-out images per evaluation of the max/min subnets (0: all) [1000]."),
    bn_images: int = typer.Option(None, "--bn-images", min=1, help="Images for BN recalibration before each [500]."),
    init: Path = typer.Option(None, "--init", "--checkpoint",
                              help="Start from these supernet weights (ours or once-for-all's): a fine-tune."),
    arch: Path = typer.Option(None, "--arch", help="The subnet a fixed-subnet strategy (standalone) trains: arch "
                                                   "JSON, best.json or an exported subnet's JSON."),
    workers: int = typer.Option(None, "--workers", "-w", min=1, help="Train on K Ray Train workers (DDP)."),
    ray_address: str = typer.Option("local", "--ray-address", help="'local' (start Ray here) or a cluster address."),
    gpu: bool = typer.Option(False, "--gpu", help="One GPU per worker (NCCL); in-process: train on cuda."),
    threads: int = typer.Option(None, "--threads", min=1, help="torch threads of this process."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
) -> None:
    """Train a weight-shared supernet; writes metrics.csv, training.png, checkpoints/last.pt, supernet.pt."""
    given = {"batch_size": batch_size, "lr": lr, "optimizer": optimizer, "momentum": momentum,
             "weight_decay": weight_decay, "label_smoothing": label_smoothing, "seed": seed,
             "strategy_options": parse_options(option) if option else None,
             "supernet_options": parse_options(supernet_option) if supernet_option else None, "holdout": holdout,
             "mixup": mixup, "cutmix": cutmix, "pad_mode": pad_mode,
             "steps_per_epoch": steps, "eval_every": eval_every, "eval_images": eval_images, "bn_images": bn_images,
             "init": str(init) if init else None,
             "arch": _read_arch(arch, space, resume) if arch else None}
    settings = {k: v for k, v in given.items() if v is not None}  # the rest: TrainConfig's defaults
    show = not (json_out or no_progress)
    with _TrainProgress(show and workers is None) as progress:
        result = run_training(space, strategy, data, epochs=epochs, out=out, resume=resume, workers=workers,
                              ray_address=ray_address, use_gpu=gpu, device="cuda" if gpu and workers is None else "cpu",
                              threads=threads, on_step=progress.step if show else None,
                              log=progress.log if show else None, **settings)
    summary = {"run_dir": result.run_dir, "space": result.config.space, "strategy": result.config.strategy,
               "epochs": result.config.epochs, "workers": result.workers,
               "resumed_from_epoch": result.resumed_from_epoch,
               "elapsed_s": round(result.elapsed_s, 2), "final": result.final,
               "files": {k: str(v) for k, v in result.files.items()}}
    if json_out:
        print_json(summary)
        return
    final = result.final
    console.print(f"[bold]{escape(result.config.space)}[/bold] trained with {result.config.strategy} for "
                  f"{result.config.epochs} epochs in {result.elapsed_s:.1f} s"
                  + (f" on {result.workers} Ray workers" if result.workers else ""))
    if "val_acc_max" in final:
        console.print(f"  held-out top-1: max subnet {final['val_acc_max']:.2f}%, "
                      f"min subnet {final['val_acc_min']:.2f}%")
    console.print(f"  run directory: {result.run_dir} (metrics.csv, training.png, checkpoints/last.pt)")
    console.print(f"  evaluate with: nas evaluate --checkpoint {result.checkpoint} --data {result.config.data} "
                  "--sample 50")


def _read_arch(path: Path, space: str | None, resume: Path | None) -> dict:
    from search_spaces import get_space

    from ..export.arch_files import read_arch_file
    from ..train.run import stored_space

    name = space or (stored_space(resume) if resume else None)
    if name is None:
        raise InvalidInput("--arch needs --space (the space the arch belongs to)")
    return read_arch_file(path, get_space(name))


@app.command("strategies")
@user_errors
def strategies(json_out: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """List the supernet training strategies and their default hyperparameters."""
    info = [{"name": n, "summary": STRATEGIES.get(n).summary, "defaults": STRATEGIES.get(n).defaults(),
             "training_defaults": dict(STRATEGIES.get(n).config_defaults)} for n in STRATEGIES.names()]
    if json_out:
        print_json(info)
        return
    table = Table(title="training strategies (set options with --option key=value)")
    for col in ("name", "what", "defaults"):
        table.add_column(col)
    for s in info:
        recipe = ", ".join(f"{k}={_fmt(v)}" for k, v in s["training_defaults"].items())
        table.add_row(s["name"], s["summary"], ", ".join(f"{k}={_fmt(v)}" for k, v in s["defaults"].items())
                      + (f" (training: {recipe})" if recipe else ""))
    console.print(table)


def _fmt(value) -> str:
    if isinstance(value, tuple):
        return "[" + ",".join(_fmt(v) for v in value) + "]"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
