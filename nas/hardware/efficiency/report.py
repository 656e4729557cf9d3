"""The files of ``nas analyze --out DIR``: analysis.json, kernels.csv, efficiency_gap.png, waterline.png.

All four are rendered first and then renamed into place together (``nas.io.atomic_paths``): a failure
leaves the folder as it was. A non-empty folder is refused unless it holds only these files (an
earlier analysis, which is replaced).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from fnmatch import fnmatch
from pathlib import Path
from typing import Sequence

from search_spaces.errors import InvalidInput
from search_spaces.fileio import TEMP_GLOB

from ...io import atomic_paths
from .analysis import Analysis, KernelRow, SubnetAnalysis

__all__ = ["OUTPUTS", "check_out_dir", "write_outputs", "kernels_csv", "plot_efficiency_gap", "plot_waterline"]

JSON, CSV, GAP, WATERLINE = "analysis.json", "kernels.csv", "efficiency_gap.png", "waterline.png"
OUTPUTS = (JSON, CSV, GAP, WATERLINE)


def check_out_dir(out: str | Path) -> Path:
    """``out`` may be new, empty, or an earlier analysis (only our files); anything else is refused."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"--out {out} is a file; give a folder for {', '.join(OUTPUTS)}")
    if out.is_dir():
        theirs = sorted(p.name for p in out.iterdir() if p.name not in OUTPUTS and not fnmatch(p.name, TEMP_GLOB))
        if theirs:
            more = f" and {len(theirs) - 1} more" if len(theirs) > 1 else ""
            raise InvalidInput(f"--out {out} is not empty (it holds {theirs[0]}{more}) and is not an analysis of "
                               f"nas analyze; choose a new or empty folder")
    return out


def _columns(runtimes: Sequence[str]) -> list[str]:
    base = ["subnet", "arch_id", "level", "index", "name", "kind", "op_class", "label", "in_shape", "out_shape",
            "macs", "bytes_layer", "bytes_fused", "kernels", "ideal_layer_ms", "ideal_fused_ms", "bound"]
    for r in runtimes:
        base += [f"measured_ms_{r}", f"efficiency_{r}", f"efficiency_fused_{r}", f"arithmetic_efficiency_{r}"]
    return base


def _csv_row(n: int, sub: SubnetAnalysis, row: KernelRow, runtimes: Sequence[str], peak_flops: float) -> dict:
    d = {"subnet": n, "arch_id": sub.arch_id, "in_shape": "x".join(map(str, row.in_shape)),
         "out_shape": "x".join(map(str, row.out_shape))}
    d |= {k: getattr(row, k) for k in ("level", "index", "name", "kind", "op_class", "label", "macs", "bytes_layer",
                                        "bytes_fused", "kernels", "ideal_layer_ms", "ideal_fused_ms", "bound")}
    for r in runtimes:
        d |= {f"measured_ms_{r}": row.measured_ms[r], f"efficiency_{r}": row.efficiency(r),
              f"efficiency_fused_{r}": row.efficiency_fused(r),
              f"arithmetic_efficiency_{r}": row.arithmetic_efficiency(r, peak_flops)}
    return d


def kernels_csv(analysis: Analysis) -> str:
    runtimes = list(analysis.settings.runtimes)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, _columns(runtimes), lineterminator="\n")
    writer.writeheader()
    for n, sub in enumerate(analysis.subnets):
        for row in sorted(sub.ops + sub.layers, key=lambda r: [int(p) for p in r.index.split(".")]):
            writer.writerow(_csv_row(n, sub, row, runtimes, analysis.peaks.peak_flops))
    return buf.getvalue()


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_efficiency_gap(analysis: Analysis, path: Path) -> None:
    """Per subnet: measured vs ideal time per op (log scale), and the cumulative gap over the network."""
    import numpy as np

    plt = _pyplot()
    runtimes = list(analysis.settings.runtimes)
    subs = analysis.subnets
    fig, axes = plt.subplots(len(subs), 2, figsize=(16, 4.8 * len(subs)), squeeze=False,
                             gridspec_kw={"width_ratios": [3, 2]})
    for (ax, cum), sub in zip(axes, subs):
        x = np.arange(len(sub.ops))
        width = 0.8 / len(runtimes)
        for k, r in enumerate(runtimes):
            ax.bar(x - 0.4 + width * (k + 0.5), [row.measured_ms[r] for row in sub.ops], width, label=f"measured ({r})",
                   alpha=0.75)
        ax.plot(x, [row.ideal_layer_ms for row in sub.ops], "k_", markersize=14, mew=2,
                label="ideal, layer by layer")
        ax.plot(x, [row.ideal_fused_ms for row in sub.ops], "rv", markersize=6, label="ideal, block-fused")
        ax.set_yscale("log")
        ax.set_xticks(x, [row.label for row in sub.ops], rotation=70, ha="right", fontsize=7)
        ax.set_ylabel("time per op (ms, log)")
        ax.set_title(f"{analysis.space} {sub.arch_id[:60]}: per op", fontsize=9)
        ax.legend(fontsize=7)
        cum.plot(x, np.cumsum([row.ideal_layer_ms for row in sub.ops]), "k-", label="ideal, layer by layer")
        cum.plot(x, np.cumsum([row.ideal_fused_ms for row in sub.ops]), "r--", label="ideal, block-fused")
        ideal = np.cumsum([row.ideal_layer_ms for row in sub.ops])
        for r in runtimes:
            measured = np.cumsum([row.measured_ms[r] for row in sub.ops])
            line, = cum.plot(x, measured, label=f"measured ops ({r}); end to end {sub.latency_ms[r]:.3g} ms")
            cum.fill_between(x, ideal, measured, color=line.get_color(), alpha=0.12)
        cum.set_yscale("log")
        cum.set_xlabel("op (execution order)")
        cum.set_ylabel("cumulative time (ms, log)")
        cum.set_title("cumulative efficiency gap (shaded: measured - ideal)", fontsize=9)
        cum.legend(fontsize=7)
    fig.suptitle(f"efficiency gap at batch {analysis.settings.batch}, {analysis.settings.threads} thread(s); "
                 f"peak {analysis.peaks.peak_flops / 1e9:.1f} GFLOP/s, {analysis.peaks.bandwidth / 1e9:.1f} GB/s",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


def plot_waterline(analysis: Analysis, path: Path) -> None:
    """Per subnet: waterline layer by layer, waterline block-fused, measured latency per runtime."""
    import numpy as np

    plt = _pyplot()
    runtimes = list(analysis.settings.runtimes)
    subs = analysis.subnets
    series = [("waterline, layer by layer", [s.waterline_layer_ms for s in subs]),
              ("waterline, block-fused", [s.waterline_fused_ms for s in subs])]
    series += [(f"measured ({r})", [s.latency_ms[r] for s in subs]) for r in runtimes]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 + 1.2 * len(subs) * len(series) / 3), 4.5))
    x = np.arange(len(subs))
    width = 0.8 / len(series)
    for k, (label, values) in enumerate(series):
        bars = ax.bar(x - 0.4 + width * (k + 0.5), values, width, label=label, hatch="//" if k < 2 else None,
                      alpha=0.85)
        ax.bar_label(bars, [f"{v:.3g}" for v in values], fontsize=7)
    ax.set_xticks(x, [f"#{n} {s.macs / analysis.settings.batch / 1e6:.0f}M MACs" for n, s in enumerate(subs)],
                  fontsize=8)
    ax.set_ylabel("latency (ms)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{analysis.space}: waterline vs measured (batch {analysis.settings.batch}, "
                 f"{analysis.settings.threads} thread(s))", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


def write_outputs(analysis: Analysis, out: str | Path) -> dict[str, str]:
    """Write the four files into ``out`` at once; returns their paths (also set on ``analysis.files``)."""
    out = check_out_dir(out)
    made = not out.exists()
    targets = [out / name for name in OUTPUTS]
    try:
        out.mkdir(parents=True, exist_ok=True)
        with atomic_paths(targets) as (tmp_json, tmp_csv, tmp_gap, tmp_water):
            files = {name: str(path) for name, path in zip(OUTPUTS, targets)}
            analysis.files = files
            text = json.dumps(analysis.to_json(), indent=2, allow_nan=False, default=_default) + "\n"
            tmp_json.write_text(text, encoding="utf-8")
            tmp_csv.write_text(kernels_csv(analysis), encoding="utf-8")
            plot_efficiency_gap(analysis, tmp_gap)
            plot_waterline(analysis, tmp_water)
    except BaseException:
        analysis.files = {}
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return files


def _default(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")
