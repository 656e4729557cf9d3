"""``nas latency profile|fit|import-ofa|validate``: latency tables for your own device."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..hardware import latency_api
from ._common import app, console, print_json, user_errors

latency_app = typer.Typer(help="Build, fit, import and check latency tables.", no_args_is_help=True)
app.add_typer(latency_app, name="latency")

_SPACE = typer.Option("ofa-mbv3", "--space", "-s", help="Search space whose ops to cover (see `nas spaces`).")
_JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _say(text: str) -> None:
    """Print plain text: space names such as ofa-mbv3[r=224] are not rich markup."""
    console.print(text, markup=False, highlight=False)


class _LazyBar:
    """A progress bar that appears with the first timed subnet, after the input was validated."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled, self.progress = total, enabled, None

    def __call__(self, k: int) -> None:
        if not self.enabled:
            return
        if self.progress is None:
            self.progress = Progress(TextColumn("[bold]timing subnets"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn())
            self.progress.start()
            self.task = self.progress.add_task("validate", total=self.total)
        self.progress.advance(self.task, k)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


@latency_app.command("profile")
@user_errors
def profile(
    space: str = _SPACE,
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N (a device torch here has)."),
    runtime: str = typer.Option(
        "torchscript", "--runtime",
        help="eager, torchscript (scripted + frozen), onnxruntime (BN folded, ONNX export, ORT_ENABLE_ALL; extra "
             "'export'), aoti (AOTInductor; needs --subnets) or fused (the engine's fused block kernels). fused "
             "and aoti run only in the engine, not in opbench.py on a device."),
    subnets: int = typer.Option(
        None, "--subnets", min=5,
        help="Fit the table from end-to-end timings of N random subnets instead of profiling op by op "
             "(required for aoti: ~60 s of compiling per subnet); resumable."),
    out: Path = typer.Option(None, "--out", help="Table CSV (default for cpu: the `cpu` target's cache)."),
    batch: int = typer.Option(1, "--batch", min=1),
    dtype: str = typer.Option(
        None, "--dtype",
        help="float32, float16 or int8: an S+q space's int8 layers on oneDNN's int8 kernels, the rest fp32 "
             "[int8 for S+q spaces, else float32]."),
    threads: int = typer.Option(1, "--threads", min=0,
                                help="CPU threads, fixed while measuring (0: torch's default)."),
    warmup: int = typer.Option(10, "--warmup", min=0, help="Untimed calls per op."),
    repeats: int = typer.Option(30, "--repeats", min=1, help="Timed calls per op (the table keeps median and IQR)."),
    flush_mb: float = typer.Option(None, "--flush-mb", min=0,
                                   help="Cache flush (MB) before each call, 0: none [CPU: half the largest cache]."),
    fusion: str = typer.Option("block", "--fusion", help="block (one entry per inverted-residual block) or layer."),
    calibrate: int = typer.Option(20, "--calibrate", min=0,
                                  help="Subnets timed end to end to calibrate (0: skip, else >= 3)."),
    emit_specs: Path = typer.Option(None, "--emit-specs",
                                    help="Only write the op specs for opbench.py on another device."),
    json_out: bool = _JSON,
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
) -> None:
    """Measure every op the space can produce on this machine (resumes if interrupted)."""
    result = latency_api.profile(space, out, device=device, runtime=runtime, batch=batch, dtype=dtype,
                                 threads=threads or None,
                                 warmup=warmup, repeats=repeats, flush_mb=flush_mb, fusion=fusion,
                                 calibrate=calibrate, emit=emit_specs, subnets=subnets,
                                 progress=not (json_out or no_progress), say=None if json_out else _say)
    if json_out:
        print_json(result)
        return
    if "specs" in result:
        _say(f"wrote {result['ops']} op specs of {result['space']} to {result['specs']}; on the device run "
                      f"(needs only torch; copy nas/hardware/opbench.py there):\n  {result['next']}\n"
                      f"then search with: nas search --space {result['space']} --target table.csv")
        return
    if result.get("kind") == "fitted":
        _say(f"{result['table']}: {result['ops']} ops fitted from {result['measured_now']} subnets timed now on "
             f"{result['device']}, {result['runtime']}, {result['threads']} thread(s)")
        err = result.get("measured_error")
        if isinstance(err, dict):
            _say(f"  held-out {err['n']} subnets: {_pct(err['within_10pct'])} within +-10%, RMSE "
                 f"{err['rmse_pct']:.1f}%")
    else:
        _say(f"{result['table']}: {result['ops']} ops ({result['measured_now']} measured now) on "
             f"{result['device']}, {result['runtime']}, {result['threads']} thread(s)")
    if result.get("runtime_detail"):
        _say(f"  runtime: {result['runtime_detail']}")
    cal = result.get("calibration")
    if cal:
        _say(f"  end-to-end calibration on {cal['subnets']} subnets: scale {cal['scale']:.3f}, offset "
                      f"{cal['offset_ms']:.3f} ms (before: {_pct(cal['before']['within_10pct'])} within +-10%)")
    _say(f"  check it: nas latency validate --target {result['table']} --space {result['space']}")


@latency_app.command("fit")
@user_errors
def fit(
    space: str = _SPACE,
    measurements: Path = typer.Option(..., "--measurements", "-m", help="CSV of whole subnets and their latency."),
    column: str = typer.Option(None, "--column", help="Latency column (ms) when the file has several."),
    out: Path = typer.Option(None, "--out", help="Write the fitted table here (.csv or .parquet)."),
    name: str = typer.Option(None, "--name", help="Also save it as a named target (--target NAME)."),
    train: float = typer.Option(0.8, "--train",
                                help="Share in (0, 1] or number (>= 2) of subnets to fit on; the rest checks it."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the train/test split."),
    device: str = typer.Option(None, "--device-name", help="Device the timings come from (metadata)."),
    json_out: bool = _JSON,
) -> None:
    """Fit a per-op table (NNLS) from end-to-end latencies of whole subnets."""
    result = latency_api.fit(space, measurements, column=column, out=out, name=name, train=train, seed=seed,
                             device=device)
    if json_out:
        print_json(result)
        return
    _say(f"fitted {result['ops']} op entries on {result['train']} of {result['subnets']} subnets "
                  f"({result['column']})")
    held = result["held_out"]
    if held:
        _say(f"  held-out {held['n']} subnets: {_pct(held['within_10pct'])} within +-10%, "
                      f"RMSE {held['rmse_ms']:.3f} ms ({held['rmse_pct']:.1f}%)")
    for path in result["written"]:
        _say(f"  wrote {path}")


@latency_app.command("import-ofa")
@user_errors
def import_ofa(
    directory: Path = typer.Argument(..., help="Folder with once-for-all's {device}__{r}_lookup_table.yaml files."),
    name: str = typer.Option(..., "--name", help="Target name (letters, digits, '_', '-', '.'), e.g. note10."),
    out: Path = typer.Option(None, "--out", help="Write the table here instead of saving it by name."),
    json_out: bool = _JSON,
) -> None:
    """Import once-for-all's YAML latency lookup tables as a latency table."""
    result = latency_api.import_ofa(directory, name, out)
    if json_out:
        print_json(result)
        return
    rs = "/".join(map(str, result["resolutions"]))
    _say(f"imported {result['ops']} ops ({', '.join(result['spaces']) or 'no registered space'}, "
                  f"r={rs}) -> {', '.join(result['written'])}")
    for sp in result["spaces"]:
        _say(f"  search with: nas search --space '{sp}[r={rs}]' --target {out or name}")


@latency_app.command("validate")
@user_errors
def validate(
    target: str = typer.Option("cpu", "--target", "-t", help="Target name or table file."),
    space: str = _SPACE,
    samples: int = typer.Option(100, "--samples", "-n", min=2, help="Random subnets to time end to end."),
    seed: int = typer.Option(0, "--seed", min=0),
    plot: Path = typer.Option(None, "--plot", help="Also write a scatter plot of predicted vs measured here."),
    passes: int = typer.Option(2, "--passes", min=1, max=100,
                               help="Passes over the subnets; each keeps its fastest (robust to background load)."),
    runtime: str = typer.Option(None, "--runtime",
                                help="Runtime to time in; must be the target's own (default: the target's)."),
    json_out: bool = _JSON,
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
) -> None:
    """Time random subnets end to end on this machine and report the target's error."""
    bar = _LazyBar(samples * passes, enabled=not (json_out or no_progress))
    try:
        result = latency_api.validate(target, space, samples=samples, seed=seed, plot=plot, passes=passes,
                                      progress=bar, runtime=runtime)
    finally:
        bar.close()
    if json_out:
        print_json(result)
        return
    if result.get("note"):
        console.print(f"[yellow]note:[/yellow] {escape(result['note'])}")
    if result.get("warning"):
        console.print(f"[yellow]warning:[/yellow] {escape(result['warning'])}")
    _say(f"{result['target']} on {result['space']}, {result['samples']} subnets: "
                  f"{_pct(result['within_10pct'])} within +-10%, RMSE {result['rmse_ms']:.3f} ms "
                  f"({result['rmse_pct']:.1f}%), median |error| {result['median_abs_pct']:.1f}%, "
                  f"max {result['max_abs_pct']:.1f}%, mean {result['mean_pct']:+.1f}%")
    if result.get("plot"):
        _say(f"  scatter plot: {result['plot']}")
