"""``nas evaluate``: measure subnets of a trained supernet (BN recalibrated) and write a predictor dataset."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from search_spaces import get_space
from search_spaces.errors import InvalidInput
from supernets.checkpoint import read_checkpoint

from ..evaluate import SPLITS, evaluate_checkpoint
from ..export import read_arch_file
from ..search import format_value
from ._common import app, console, print_json, user_errors


@app.command("evaluate")
@user_errors
def evaluate(
    checkpoint: Path = typer.Option(..., "--checkpoint", "-c",
                                    help="Supernet checkpoint (nas train's or once-for-all's)."),
    data: str = typer.Option(..., "--data", "-d", help="ImageFolder dir, its .tar.gz, an .npz, or synthetic."),
    arch: list[Path] = typer.Option(None, "--arch", help="Arch JSON / best.json / net.config to measure (repeatable)."),
    sample: int = typer.Option(0, "--sample", "-n", min=0, help="Also measure N distinct random subnets."),
    extremes: bool = typer.Option(False, "--extremes", help="Also measure the largest and smallest subnets."),
    space: str = typer.Option(None, "--space", "-s",
                              help="Space (default: the checkpoint's; needed for once-for-all files)."),
    split: str = typer.Option("holdout", "--split", help=f"Images to measure on: {' or '.join(SPLITS)}."),
    bn_images: int = typer.Option(2000, "--bn-images", min=1, help="Training images for BN recalibration."),
    eval_images: int = typer.Option(None, "--eval-images", min=1, help="Measure on at most this many images."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the sampled subnets."),
    out: Path = typer.Option(None, "--out", help="Write a predictor dataset here (CSV; + _dynast.csv, .meta.json)."),
    threads: int = typer.Option(None, "--threads", min=1, help="torch threads of this process."),
    workers: int = typer.Option(None, "--workers", min=1, help="Measure on this many Ray actors (one thread each)."),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster for --workers (default: a local Ray)."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
) -> None:
    """Recalibrate BN and measure top-1 of subnets; `nas predictor fit --data OUT` reads the dataset."""
    if threads is not None:
        import torch

        from ..hardware.opbench import check_threads

        check_threads(threads)
        torch.set_num_threads(threads)
    archs = []
    if arch:
        space_name = space or str(read_checkpoint(checkpoint).get("space") or "")
        space_obj = get_space(space_name) if space_name else None
        if space_obj is None:
            raise InvalidInput("--arch with a once-for-all checkpoint needs --space (the checkpoint names none)")
        archs = [read_arch_file(path, space_obj) for path in arch]
    show = not (json_out or no_progress)
    progress = Progress(TextColumn("[bold]measuring"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("last {task.fields[acc]}"), TimeElapsedColumn(), disable=not show, transient=True)
    task = progress.add_task("evaluate", total=None, acc="-")

    def done(k: int, total: int, acc: float) -> None:
        if not progress.live.is_started:  # the bar appears with the first result, after the input checks
            progress.start()
        progress.update(task, completed=k, total=total, acc=f"{acc:.2f}%")

    try:
        result = evaluate_checkpoint(checkpoint, data, archs=archs, sample=sample, extremes=extremes, space=space,
                                     split=split, bn_images=bn_images, eval_images=eval_images, seed=seed, out=out,
                                     workers=workers, ray_address=ray_address, on_done=done)
    finally:
        if progress.live.is_started:
            progress.stop()
    rows = result.table
    if json_out:
        print_json({"space": result.space, "evaluated_on": result.evalset, "elapsed_s": round(result.elapsed_s, 2),
                    "files": {k: str(v) for k, v in result.files.items()},
                    "subnets": [{"arch_id": r.arch_id, "accuracy": r.accuracy,
                                 **({"macs": int(r.macs), "params": int(r.params)} if "macs" in rows else {})}
                                for r in rows.itertuples()]})
        return
    table = Table(title=f"{result.space}: top-1 on {result.evalset}")
    for col in ("accuracy", "MACs", "params", "arch"):
        table.add_column(col, justify="right" if col != "arch" else "left")
    for r in rows.sort_values("accuracy", ascending=False).head(30).itertuples():
        table.add_row(f"{r.accuracy:.2f}%", format_value("macs", r.macs) if "macs" in rows else "-",
                      format_value("params", r.params) if "params" in rows else "-", r.arch_id)
    console.print(table)
    if len(rows) > 30:
        console.print(f"  ... {len(rows) - 30} more; mean {rows['accuracy'].mean():.2f}%, "
                      f"range {rows['accuracy'].min():.2f}..{rows['accuracy'].max():.2f}%")
    console.print(f"measured {len(rows)} subnets in {result.elapsed_s:.1f} s")
    for kind, path in result.files.items():
        console.print(f"  {kind}: {path}")
