"""``nas analyze``: efficiency gap and waterline of subnets on this machine (after Lavin, arXiv 2404.03617)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from search_spaces.errors import InvalidInput

from .. import api
from ._common import app, arch_option, console, err_console, print_json, user_errors


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False)


def _peaks_line(p) -> str:
    return (f"peaks on {p.device}, {p.threads} thread(s): {p.peak_flops / 1e9:.1f} GFLOP/s fp32 (GEMM {p.gemm_n}^3), "
            f"{p.bandwidth / 1e9:.2f} GB/s (copy {p.copy_mib:g} MiB, read + write); ridge "
            f"{p.ridge:.1f} FLOP/byte; " + ("cached" if p.cached else "measured now") + f" {p.measured}")


def _us(ms: float) -> str:
    return f"{ms * 1e3:.3g}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _si(n: float) -> str:
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.3g}"


def _print_subnet(n: int, sub, result) -> None:
    runtimes = list(result.settings.runtimes)
    table = Table(title=f"subnet #{n}: {sub.arch_id}", title_justify="left")
    for col in ("op", "MACs", "bytes layer/fused", "ideal us layer/fused"):
        table.add_column(col, justify="left" if col == "op" else "right")
    for r in runtimes:
        table.add_column(f"{r} ms (eff)", justify="right")
    for row in sub.ops:
        cells = [row.label, _si(row.macs), f"{_si(row.bytes_layer)}/{_si(row.bytes_fused)}",
                 f"{_us(row.ideal_layer_ms)}/{_us(row.ideal_fused_ms)}"]
        cells += [f"{row.measured_ms[r]:.3f} ({_pct(row.efficiency(r))})" for r in runtimes]
        table.add_row(*cells)
    console.print(table)
    t = sub.totals(runtimes, result.peaks.peak_flops)
    measured = ", ".join(f"{r} {t['latency_ms'][r]:.3f} ms (ops alone sum {t['ops_sum_ms'][r]:.3f}; efficiency "
                         f"{_pct(t['efficiency'][r])}, computational {_pct(t['arithmetic_efficiency'][r])})"
                         for r in runtimes)
    _say(f"  {t['macs'] / 1e6:.2f}M MACs, {t['bytes_layer'] / 2**20:.2f} MiB layer by layer, "
         f"{t['bytes_fused'] / 2**20:.2f} MiB block-fused; waterline {t['waterline_layer_ms']:.3f} ms layer by layer, "
         f"{t['waterline_fused_ms']:.3f} ms block-fused; measured end to end: {measured}")


def _print_classes(result) -> None:
    runtimes = list(result.settings.runtimes)
    groups = {r: result.summary_by_class(r) for r in runtimes}
    table = Table(title="efficiency per kernel class (sum of ideal / sum of measured, all subnets)",
                  title_justify="left")
    for col in ("class", "kernels", "MACs", "ideal ms"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for r in runtimes:
        table.add_column(f"{r} ms (eff)", justify="right")
    first = groups[runtimes[0]]
    for name in sorted(first, key=lambda k: -first[k]["measured_ms"]):
        g = first[name]
        cells = [name, str(g["count"]), _si(g["macs"]), f"{g['ideal_ms']:.4f}"]
        cells += [f"{groups[r][name]['measured_ms']:.3f} ({_pct(groups[r][name]['efficiency'])})" for r in runtimes]
        table.add_row(*cells)
    console.print(table)


@app.command("analyze", no_args_is_help=True)
@user_errors
def analyze(
    space: str = typer.Option(None, "--space", "-s", help="Search space of the arch (see `nas spaces`)."),
    arch: Path = typer.Option(None, "--arch", help="Arch JSON, exported JSON, best.json or once-for-all net.config."),
    run: Path = typer.Option(None, "--run", help="Analyze this search run's best subnet (or --top K front subnets)."),
    top: int = typer.Option(None, "--top", min=1, help="With --run: its first K front subnets (pareto.csv order)."),
    resolution: int = typer.Option(None, "--resolution", min=1, help="Input resolution (overrides the arch file's)."),
    batch: int = typer.Option(1, "--batch", min=1, help="Images per call."),
    threads: int = typer.Option(1, "--threads", min=1, help="CPU threads for the peaks and every timing."),
    runtime: list[str] = typer.Option(["eager", "torchscript"], "--runtime",
                                      help="Runtimes to time in (repeatable): eager, torchscript, or one registered."),
    warmup: int = typer.Option(5, "--warmup", min=0, help="Untimed calls per op and subnet."),
    repeats: int = typer.Option(20, "--repeats", min=1, help="Timed calls per op and subnet (median)."),
    flush_mb: float = typer.Option(None, "--flush-mb", min=0,
                                   help="Cache flush (MB) before each timed op, 0: none [half the largest cache]."),
    no_layers: bool = typer.Option(False, "--no-layers", help="Do not time the layer kernels of blocks alone."),
    out: Path = typer.Option(None, "--out", help="Folder for analysis.json, kernels.csv and the two plots."),
    peaks_only: bool = typer.Option(False, "--peaks-only", help="Only measure (or show the cached) device peaks."),
    remeasure: bool = typer.Option(False, "--remeasure", help="Measure the peaks again instead of the cached ones."),
    gemm_n: int = typer.Option(2048, "--gemm-n", min=1, help="GEMM size of the arithmetic peak (n x n x n)."),
    copy_mib: float = typer.Option(256, "--copy-mib", min=0, help="Buffer size (MiB) of the bandwidth copy."),
    peak_repeats: int = typer.Option(5, "--peak-repeats", min=1, help="Timed calls of each peak (median)."),
    json_out: bool = typer.Option(False, "--json", help="Print analysis.json's content instead of tables."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress line."),
) -> None:
    """Per-kernel MACs, bytes, roofline-ideal vs measured time, and the waterline of subnets on this CPU."""
    from ..hardware.efficiency import machine_peaks

    if peaks_only:
        if arch is not None or run is not None:
            raise InvalidInput("--peaks-only measures the device only: drop --arch / --run")
        peaks = machine_peaks(threads, remeasure=remeasure, gemm_n=gemm_n, copy_mib=copy_mib, repeats=peak_repeats)
        print_json(peaks.to_json()) if json_out else _say(_peaks_line(peaks))
        return
    space, arch_dict = arch_option(arch, space, resolution, "a run's subnets")
    status = None
    if not (json_out or no_progress):
        status = err_console.status("analyzing")
        status.start()
    try:
        result = api.analyze(space, arch_dict, run=run, top=top, batch=batch, threads=threads, runtimes=runtime,
                             warmup=warmup, repeats=repeats, flush_mb=flush_mb, layers=not no_layers,
                             remeasure=remeasure, gemm_n=gemm_n, copy_mib=copy_mib, peak_repeats=peak_repeats,
                             out=out, progress=(lambda text: status.update(text)) if status else None)
    finally:
        if status is not None:
            status.stop()
    if json_out:
        print_json(result.to_json() | {"files": result.files})
        return
    _say(_peaks_line(result.peaks))
    for n, sub in enumerate(result.subnets):
        _print_subnet(n, sub, result)
    _print_classes(result)
    for path in result.files.values():
        _say(f"  wrote {path}")
