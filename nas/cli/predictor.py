"""``nas predictor fit|eval|import-ofa`` and ``nas predictors``: accuracy predictors and their measured quality."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from predictors import MAX_SEED, PREDICTORS, check_output_path, describe_options, list_predictor_kinds
from predictors.fitting import evaluate_on_data, fit_on_data
from predictors.ofa_import import import_ofa_predictor
from predictors.shipped import resolve_predictor, shipped_predictors

from ._common import app, console, parse_options, print_json, user_errors

predictor_app = typer.Typer(help="Fit, evaluate and import accuracy predictors.", no_args_is_help=True)
app.add_typer(predictor_app, name="predictor")

_JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
_METRICS = (("kendall_tau", "Kendall tau"), ("spearman_rho", "Spearman rho"), ("rmse", "RMSE"),
            ("top10pct_precision", "top-10% precision"), ("bias", "bias"))


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)  # [r=224] is not markup; no wrapping


def _say_undefined(metrics: dict) -> None:
    """A note per metric the data leaves undefined (e.g. top-10% precision on fewer than 10 subnets)."""
    labels = dict(_METRICS)
    for key, why in (metrics.get("undefined") or {}).items():
        _say(f"note: {labels.get(key, key)} is not defined on this data: {why}")


def _metrics_table(title: str, columns: dict[str, dict]) -> Table:
    table = Table(title=Text(title))  # Text: space names like ofa-mbv3[r=224] are not markup
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    for key, label in _METRICS:
        if any(key in m for m in columns.values()):
            table.add_row(label, *(f"{m[key]:.4f}" if key in m else "" for m in columns.values()))
    table.add_row("subnets", *(str(m.get("n", "")) for m in columns.values()))
    return table


@predictor_app.command("fit")
@user_errors
def fit(
    space: str = typer.Option("ofa-mbv3", "--space", "-s", help="Search space of the subnets (see `nas spaces`)."),
    data: list[Path] = typer.Option(..., "--data", "-d", help="Results CSV: DyNAS-T's or this engine's (repeatable)."),
    kind: str = typer.Option("svr", "--kind", "-k", help=f"Predictor kind: {', '.join(list_predictor_kinds())}."),
    out: Path = typer.Option(..., "--out", "-o", help="Predictor file to write (P.json + P.npz)."),
    features: str = typer.Option("onehot", "--features", help="Encoding from the space: onehot, ordinal, ofa."),
    derived: str = typer.Option("auto", "--derived", help="Derived log features: auto, none, or e.g. macs,params."),
    option: list[str] = typer.Option(None, "--option", help="Kind parameter key=value, e.g. C=10 (repeatable; "
                                     "`nas predictors` lists each kind's)."),
    label: str = typer.Option(None, "--label", help="Label column [Top-1 Acc (%) for DyNAS-T, accuracy for ours]."),
    folds: int = typer.Option(5, "--folds", min=0, help="Grouped cross-validation folds, 2 or more (0: skip)."),
    seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED, help="Seed of the folds and of the fit."),
    json_out: bool = _JSON,
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
) -> None:
    """Fit a predictor on measured subnets; cross-validates first and stores the quality in its metadata."""
    check_output_path(out)
    derived_value = "auto" if derived == "auto" else tuple(d for d in derived.split(",") if d and d != "none")
    # rebuilt from the parsed options (sys.argv is not this command's when called from Python)
    command = shlex.join(["nas", "predictor", "fit", "--space", space, *[a for d in data for a in ("--data", str(d))],
                          "--kind", kind, "--out", str(out), "--features", features, "--derived", derived,
                          *[a for o in option or () for a in ("--option", o)], *(["--label", label] if label else []),
                          "--folds", str(folds), "--seed", str(seed)])
    with Progress(TextColumn("[bold]cross-validating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  disable=json_out or no_progress or folds == 0 or not console.is_terminal,
                  transient=True) as progress:
        task = progress.add_task("cv", total=folds)
        model, cv, rows = fit_on_data(space, data, kind, params=parse_options(option), features=features,
                                      derived=derived_value, label=label, folds=folds, seed=seed, command=command,
                                      on_fold=lambda k: progress.advance(task))
    path = model.save(out)
    result = {"predictor": str(path), "kind": kind, "space": model.space.name, "subnets": len(rows),
              "rows": model.metadata["source"]["rows"], "cv": model.metadata["cv"]}
    if json_out:
        print_json(result)
        return
    src = model.metadata["source"]
    _say(f"fitted {kind} on {len(rows)} unique subnets ({src['rows']} rows) of {model.space.name} -> {path}")
    if rows.space.name != space:
        _say(f"note: every row has the same {rows.space.name[len(space):]}, so the predictor covers {rows.space.name}")
    if cv is not None:
        console.print(_metrics_table(f"{folds}-fold grouped cross-validation", {kind: cv.metrics}))
        _say_undefined(cv.metrics)


@predictor_app.command("eval")
@user_errors
def evaluate(
    predictor: str = typer.Option(..., "--predictor", "-p",
                                  help="Predictor file, or a shipped name (`nas predictors`)."),
    data: list[Path] = typer.Option(..., "--data", "-d", help="Results CSV with measured values (repeatable)."),
    label: str = typer.Option(None, "--label", help="Label column [Top-1 Acc (%) / accuracy]."),
    plot: Path = typer.Option(None, "--plot", help="Also write a predicted-vs-measured scatter PNG here."),
    json_out: bool = _JSON,
) -> None:
    """Measure a predictor on measured subnets: Kendall tau, Spearman rho, RMSE, top-10% precision (+ scatter PNG)."""
    result = evaluate_on_data(resolve_predictor(predictor), data, label, plot)
    if json_out:
        print_json(result)
        return
    columns = {"on this data": result["metrics"]}
    if result["shipped_cv"]:
        columns["its own CV"] = result["shipped_cv"]
    console.print(_metrics_table(f"{result['predictor']} predictor ({result['space']}) on "
                                 f"{', '.join(result['files'])}", columns))
    _say_undefined(result["metrics"])
    if result.get("plot"):
        _say(f"scatter plot: {result['plot']}")


@predictor_app.command("import-ofa")
@user_errors
def import_ofa(
    path: Path = typer.Argument(..., help="once-for-all's acc_predictor.pth (legacy torch state dict)."),
    space: str = typer.Option("ofa-mbv3-w1.2", "--space", "-s", help="The OFA space it was trained for."),
    out: Path = typer.Option(..., "--out", "-o", help="Predictor file to write (P.json + P.npz)."),
    scale: float = typer.Option(100.0, "--scale", help="Output multiplier (its outputs are fractions; 100 -> %)."),
    json_out: bool = _JSON,
) -> None:
    """Convert once-for-all's released accuracy predictor into this engine's format (exact, resolution-aware)."""
    check_output_path(out)
    model = import_ofa_predictor(path, space, scale)
    saved = model.save(out)
    conv = model.metadata["conversion"]
    if json_out:
        print_json({"predictor": str(saved), "space": model.space.name, **conv})
        return
    _say(f"imported {path.name} as an mlp predictor for {model.space.name} "
         f"({'-'.join(map(str, [model.n_features] + conv['layers']))}) -> {saved}")
    _say(f"  max |ours - torch| on {conv['checked_subnets']} random subnets: "
         f"{conv['max_abs_diff_vs_torch']:.2e} points")
    _say(f"  search with: nas search --space {model.space.name} --predictor {saved}")


@app.command("predictors")
@user_errors
def predictors(json_out: bool = _JSON) -> None:
    """List the shipped accuracy predictors with their data, fit date and cross-validated quality."""
    infos = shipped_predictors()
    options = {kind: describe_options(PREDICTORS.get(kind).options) if PREDICTORS.get(kind).options is not None
               else "(not declared)" for kind in list_predictor_kinds()}
    if json_out:
        print_json({"kinds": list_predictor_kinds(), "options": options, "shipped": infos})
        return
    table = Table(title="shipped predictors (nas search uses them by default)")
    for col in ("name", "space", "kind", "target", "data", "CV Kendall tau", "CV RMSE", "fitted"):
        table.add_column(col, no_wrap=col in ("name", "space", "fitted"))
    for info in infos:
        meta = info.get("metadata") or {}
        cv, src = meta.get("cv", {}), meta.get("source", {})
        data = f"{src.get('unique_archs', '?')} subnets" if "files" in src else src.get("file", "")
        table.add_row(Text(info["name"]), Text(info["space"]), info["kind"], Text(str(meta.get("target", ""))), data,
                      f"{cv['kendall_tau']:.3f}" if "kendall_tau" in cv else "",
                      f"{cv['rmse']:.3f}" if "rmse" in cv else "", str(meta.get("date", ""))[:10])
    console.print(table)
    _say(f"predictor kinds: {', '.join(list_predictor_kinds())} (fit your own: nas predictor fit --kind K "
         f"--option NAME=VALUE)")
    for kind, text in options.items():
        _say(f"  {kind} options: {text}")
