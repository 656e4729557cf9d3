"""``nas benchmark``: searchers measured against the exact Pareto front of a tabular benchmark."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..io import write_json
from ._common import app, console, parse_options, print_json, user_errors

benchmark_app = typer.Typer(help="Measure searchers against exact Pareto fronts.", no_args_is_help=True)
app.add_typer(benchmark_app, name="benchmark")


def _per_searcher(items: list[str] | None) -> dict[str, dict]:
    """``searcher.key=value`` options, e.g. ``nsga2.population=50``."""
    from search_spaces.errors import InvalidInput

    out: dict[str, dict] = {}
    for key, value in parse_options(items).items():
        name, dot, option = key.partition(".")
        if not dot or not option:
            raise InvalidInput(f"option {key!r} must look like searcher.key=value (e.g. nsga2.population=50)")
        out.setdefault(name, {})[option] = value
    return out


@benchmark_app.command("nas-bench-201")
@user_errors
def nas_bench_201(
    accuracy: str = typer.Option("cifar10", "--accuracy", help="Dataset: cifar10, cifar100 or ImageNet16-120."),
    device: str = typer.Option("raspi4", "--device", help="Device whose measured latency is the second objective."),
    pairs: list[str] = typer.Option(None, "--pairs", help="dataset:device pairs or a named set (broad: 12 pairs the "
                                    "defaults were not first tuned on; tuned: those 3), repeatable; overrides "
                                    "--accuracy and --device and adds the aggregate over pairs."),
    score_at: list[int] = typer.Option(None, "--score-at", help="Also score each run after its first N cells "
                                       "(repeatable; the same as a run with budget N)."),
    budget: int = typer.Option(300, "--budget", "-n", min=1, help="Unique cells each searcher may evaluate."),
    seeds: int = typer.Option(5, "--seeds", min=1, help="Seeds per searcher (mean and worst are reported)."),
    searcher: list[str] = typer.Option(None, "--searcher", help="Searcher to run (repeatable) or 'all' "
                                       "[default: all but the Bayesian gp and botorch, minutes a run]."),
    option: list[str] = typer.Option(None, "--option", "-o", help="searcher.key=value, e.g. nsga2.population=50."),
    data: Path = typer.Option(None, "--data", help="The NAS-Bench-201 CSV (default: ../shared/data/benchmarks/...)."),
    out: Path = typer.Option(None, "--out", help="Write the results JSON here (and a PNG beside it)."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Run searchers on NAS-Bench-201 (every cell's accuracy and latency known) and score the fronts they find."""
    from ..benchmark import NB201Table, parse_pairs, resolve_searchers, run_nb201, run_pairs
    from ..benchmark.plot import plot_aggregate, plot_nb201

    table = NB201Table(data)
    pair_list = parse_pairs(pairs, table) if pairs else None
    names = resolve_searchers(searcher)
    options = _per_searcher(option)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=json_out) as progress:
        task = progress.add_task("benchmark", total=len(names) * seeds * len(pair_list or [None]))

        def advance(name: str, seed: int) -> None:
            progress.update(task, advance=1, description=f"{name} seed {seed}")

        if pair_list is None:
            result = run_nb201(accuracy, device, searchers=names, budget=budget, seeds=seeds, table=table,
                               options=options, on_run=advance, score_at=score_at or ())
        else:
            result = run_pairs(pair_list, searchers=names, budget=budget, seeds=seeds, table=table, options=options,
                               on_run=advance, score_at=score_at or ())
    if out is not None:
        write_json(out, result)
        if pair_list is None:
            plot_nb201([result], out.with_suffix(".png"))
        else:
            plot_aggregate(result, out.with_suffix(".png"))
    if json_out:
        print_json(result)
        return
    if pair_list is None:
        console.print(results_table(result))
    else:
        for b in sorted(result["aggregate"], key=int):
            console.print(aggregate_table(result, b))
    if out is not None:
        console.print(f"wrote {out} and {out.with_suffix('.png')}")


def results_table(result: dict) -> Table:
    front = result["exact_front"]
    table = Table(title=f"NAS-Bench-201 {result['dataset']} / {result['device']}: {result['budget']} unique cells, "
                        f"{result['seeds']} seeds; exact front {front['front_cells']} cells, reference point "
                        f"({front['reference'][0]:.2f}% error, {front['reference'][1]:.3g} ms)")
    for col in ("searcher", "region HV ratio mean", "worst", "recall mean", "worst", "IGD+ mean", "worst"):
        table.add_column(col, justify="left" if col == "searcher" else "right")
    for name, s in result["searchers"].items():
        m, w = s["mean"], s["worst"]
        label = f"{name} (baseline)" if name == result["baseline"] else name
        table.add_row(label, f"{m['hv_ratio']:.4f}", f"{w['hv_ratio']:.4f}", f"{m['recall']:.1%}", f"{w['recall']:.1%}",
                      f"{m['igd_plus']:.4f}", f"{w['igd_plus']:.4f}")
    return table


def aggregate_table(result: dict, budget: str) -> Table:
    agg = result["aggregate"][budget]
    table = Table(title=f"NAS-Bench-201 over {len(result['results'])} pairs at {budget} unique cells, "
                        f"{result['seeds']} seeds: mean over pairs, spread (std) and worst pair")
    for col in ("searcher", "region HV ratio mean", "std", "worst pair", "worst run", "recall mean", "worst pair",
                "IGD+ mean", "s/run"):
        table.add_column(col, justify="left" if col == "searcher" else "right")
    for name, a in agg.items():
        h, r = a["hv_ratio"], a["recall"]
        label = f"{name} (baseline)" if name == result["baseline"] else name
        table.add_row(label, f"{h['mean']:.4f}", f"{h['std']:.4f}", f"{h['min']:.4f} {h['worst_pair']}",
                      f"{h['worst_run']:.4f}", f"{r['mean']:.1%}", f"{r['min']:.1%}",
                      f"{a['igd_plus']['mean']:.4f}", f"{a['seconds_per_run']:.2f}")
    return table
