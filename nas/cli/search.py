"""``nas search``: find the best subnets of a space for a target device."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from .. import api
from ..search import format_value
from ._common import app, console, parse_options, print_json, user_errors
from ._progress import SearchProgress


@app.command("search")
@user_errors
def search(
    space: str = typer.Option(None, "--space", "-s",
                              help="Search space (see `nas spaces`) [default: the checkpoint's, else ofa-mbv3]."),
    target: str = typer.Option(None, "--target", "-t",
                               help="Hardware target (see `nas targets`) or a latency table file [default: macs]."),
    constraint: list[str] = typer.Option(None, "--constraint", "-c",
                                         help="e.g. latency<=20ms, params<=5M, macs<=300M, accuracy>=75% "
                                              "(repeatable)."),
    searcher: str = typer.Option(None, "--searcher",
                                 help="Searcher (default: linas with measured accuracy, evolution with constraints, "
                                      "else a multi-objective one)."),
    option: list[str] = typer.Option(None, "--option", "-o", help="Searcher option key=value (repeatable)."),
    preset: str = typer.Option(None, "--preset",
                               help="Searcher preset, e.g. once-for-all or vit-resnas for evolution."),
    budget: int = typer.Option(None, "--budget", "-n", min=1,
                               help=f"Unique subnets to evaluate [default: {api.DEFAULT_BUDGET}; "
                                    f"{api.MEASURED_BUDGET} with measured accuracy]."),
    generations: int = typer.Option(None, "--generations", min=1, help="Stop after this many generations."),
    seed: int = typer.Option(None, "--seed", min=0, help="Seed of every random choice [default: 0]."),
    predictor: str = typer.Option(None, "--predictor",
                                  help="Accuracy predictor file (default: the shipped one for the space)."),
    checkpoint: Path = typer.Option(None, "--checkpoint",
                                    help="Trained supernet (nas train): measure accuracy, not predict it (slow)."),
    data: str = typer.Option(None, "--data", help="Images for measured accuracy: .npz, ImageFolder dir, synthetic:..."),
    split: str = typer.Option(None, "--split",
                              help="Measured accuracy on: holdout (training's held-out images) or test "
                                   "[default: holdout]."),
    bn_images: int = typer.Option(None, "--bn-images", min=1,
                                  help="Images for BN recalibration of each measured subnet [default: 2000]."),
    eval_images: int = typer.Option(None, "--eval-images", min=1, help="Cap on evaluation images per measured subnet."),
    workers: int = typer.Option(None, "--workers", min=1,
                                help="Measure subnets on this many Ray actors (with --checkpoint; not recorded)."),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster for --workers (default: a local Ray)."),
    objective: list[str] = typer.Option(None, "--objective",
                                        help="Objectives to optimize (default: accuracy [+ target cost])."),
    out: Path = typer.Option(None, "--out", help="Run directory (default: runs/<space>-<target>-<seed>)."),
    resume: Path = typer.Option(None, "--resume", help="Continue the search run in this directory."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
) -> None:
    """Search for the best subnets under constraints; writes results.csv, pareto.csv/png and best.json.

    Accuracy comes from a predictor, or, with --checkpoint and --data, is measured on the trained
    supernet (BN recalibrated, top-1 on the held-out split): slow, so the budget defaults to a few dozen.
    """
    measured = checkpoint is not None or data is not None
    if out is None and resume is None:
        name = space or (checkpoint.stem if checkpoint is not None else "ofa-mbv3")
        out = Path("runs") / f"{name}-{Path(target or 'macs').stem}-seed{seed or 0}"
    given = {"split": split, "bn_images": bn_images, "eval_images": eval_images}
    measure_options = {k: v for k, v in given.items() if v is not None}  # the rest: the objective's defaults
    total = budget or (api.MEASURED_BUDGET if measured else api.DEFAULT_BUDGET)
    with SearchProgress(total, enabled=not (json_out or no_progress)) as progress:
        result = api.search(space, target, constraints=constraint or (), searcher=searcher,
                            searcher_options=parse_options(option), preset=preset, budget=budget,
                            generations=generations, seed=seed, predictor=predictor, checkpoint=checkpoint,
                            data=data, measure_options=measure_options or None,
                            objectives=objective or None, out=out, resume=resume, workers=workers,
                            ray_address=ray_address, on_generation=progress)
    if json_out:
        print_json({"run_dir": result.run_dir, "space": result.space, "searcher": result.searcher,
                    "evaluated": result.evaluated, "generations": result.generations, "stopped": result.stopped,
                    "elapsed_s": round(result.elapsed_s, 3), "notes": result.notes, **result.best})
        return
    _print_summary(result)


def _print_summary(result: api.SearchResult) -> None:
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    console.print(f"[bold]{escape(result.space)}[/bold]: {result.evaluated} subnets evaluated by {result.searcher} "
                  f"in {result.elapsed_s:.1f} s ({result.generations} generations, stopped: {result.stopped})")
    for metric, source in result.sources.items():
        console.print(f"  {metric}: {source}")
    best = result.best.get("best")
    if best is None:
        console.print("[red]no evaluated subnet satisfies the constraints[/red]")
    else:
        table = Table(title=f"best subnet ({result.best['objective']}"
                            + (f" s.t. {', '.join(result.constraints)}" if result.constraints else "") + ")")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for metric, value in best["values"].items():
            table.add_row(metric, format_value(metric, value))
        console.print(table)
        console.print(f"  arch: {escape(best['arch_id'])}")
    console.print(f"Pareto front: {len(result.pareto)} subnets")
    if result.run_dir is not None:
        console.print(f"run directory: {result.run_dir} (results.csv, pareto.csv, pareto.png, best.json); "
                      f"export with: nas export --run {result.run_dir} --out subnet.pt")
