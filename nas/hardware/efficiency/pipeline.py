"""``analyze``: which subnets (an arch, or a search run's best or front), the peaks, the rows, the files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable, Mapping

from search_spaces import SearchSpace, get_space
from search_spaces.errors import InvalidInput

from .analysis import Analysis, Settings, analyze_subnets, check_settings
from .peaks import COPY_MIB, GEMM_N, REPEATS, machine_peaks

__all__ = ["DEFINITIONS", "analyze", "resolve_archs", "MAX_TOP"]

MAX_TOP = 50  # front subnets analyzed at most (each is timed op by op)

DEFINITIONS = {
    "source": "after A. Lavin, On the Efficiency of Convolutional Neural Networks (arXiv 2404.03617); "
              "definitions in nas/hardware/efficiency/__init__.py",
    "flops_per_mac": "1 MAC = 2 FLOPs (conv, depthwise, linear and squeeze-excite multiply-accumulates), as the "
                     "GEMM peak counts 2 n^3 FLOPs",
    "peak_flops": "fp32 torch.mm of two n x n matrices, 2 n^3 FLOPs per call, median of repeats, at --threads",
    "bandwidth": "dst.copy_(src) of a large fp32 buffer, read + write bytes per call, median of repeats",
    "bytes": "fp32: batch x (input + output [+ residual tensor read]) + weights (BN folded: + one bias per "
             "channel); squeeze-excite reads its input twice (mean, gate)",
    "bytes_layer": "a block run layer by layer: the sum over its layer kernels (each intermediate tensor written "
                   "once and read once)",
    "bytes_fused": "a block as one kernel: block input + block output + all weights (intermediates on chip)",
    "ideal_ms": "roofline-ideal time of a kernel: max(2 MACs / peak_flops, bytes / bandwidth); ideal_layer_ms sums "
                "it over a block's layer kernels, ideal_fused_ms takes it once over the block",
    "efficiency": "ideal_layer_ms / measured_ms (measured alone, median of repeats, caches flushed)",
    "efficiency_fused": "ideal_fused_ms / measured_ms: what a block-fusion kernel could reach",
    "arithmetic_efficiency": "Lavin's computational efficiency: 2 MACs / (measured seconds x peak_flops), from "
                             "latency = operations / (efficiency x peak)",
    "gap_ms": "efficiency gap: measured - ideal (layer by layer); cumulative gap = its running sum over the "
              "network in execution order",
    "waterline": "latency lower bound of a subnet: the sum over its kernels of their roofline-ideal times, layer "
                 "by layer (waterline_layer_ms) or with every block fused (waterline_fused_ms), compared with "
                 "its end-to-end latency measured per runtime",
}


def _archs_of_run(run: str | Path, top: int | None) -> tuple[str, list[dict]]:
    """The space of search run ``run`` and its best subnet (``top`` None) or its first ``top`` front subnets."""
    import pandas as pd

    from ...api import load_run
    from ...results import RunDirectory

    if top is None:
        info = load_run(run)
        best = info["best"].get("best") if isinstance(info["best"], dict) else None
        if not isinstance(best, dict) or not isinstance(best.get("arch"), dict):
            raise InvalidInput(f"search run {run} found no subnet that satisfies its constraints; nothing to analyze")
        return str(info["config"]["space"]), [best["arch"]]
    rd = RunDirectory.open(run)
    space = rd.config.get("space") if isinstance(rd.config, dict) else None
    path = rd.file(rd.PARETO)
    if not isinstance(space, str) or not path.is_file():
        raise InvalidInput(f"search run {run} has no {rd.PARETO} (did it finish? resume it with --resume)")
    try:
        front = pd.read_csv(path, usecols=["config"])
        archs = [json.loads(text) for text in front["config"].head(top)]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{path} is damaged: {' '.join(str(exc).split())}") from None
    if not archs:
        raise InvalidInput(f"search run {run} has an empty front; nothing to analyze")
    return space, archs


def resolve_archs(space: str | SearchSpace | None, arch: Mapping | Iterable[Mapping] | None = None,
                  run: str | Path | None = None, top: int | None = None) -> tuple[SearchSpace, list[dict]]:
    """The space and the validated archs to analyze: ``arch`` (one or several), or ``run``'s best
    subnet, or its first ``top`` front subnets (pareto.csv's order)."""
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
            raise InvalidInput(f"--top must be a whole number in 1..{MAX_TOP}, not {top!r}")
        if run is None:
            raise InvalidInput("--top K picks front subnets of a search run: pass --run RUNDIR too")
    if (arch is None) == (run is None):
        raise InvalidInput("analyze needs --arch ARCH.json or --run RUNDIR (one of them)")
    if run is not None:
        run_space, archs = _archs_of_run(run, top)
        if space is not None and (space.name if isinstance(space, SearchSpace) else space) != run_space:
            raise InvalidInput(f"--space {space if isinstance(space, str) else space.name} differs from the space "
                               f"of run {run} ({run_space}); drop --space")
        space = run_space
    else:
        archs = [arch] if isinstance(arch, Mapping) else list(arch)
        if space is None:
            raise InvalidInput("analyze needs --space with --arch (see `nas spaces`)")
        if not archs:
            raise InvalidInput("no architecture to analyze")
    space_obj = space if isinstance(space, SearchSpace) else get_space(space)
    from ..opspec import structured

    structured(space_obj)  # the per-kernel analysis needs the ops a subnet runs
    return space_obj, [dict(space_obj.validate(a)) for a in archs]


def analyze(space: str | SearchSpace | None = None, arch: Mapping | Iterable[Mapping] | None = None, *,
            run: str | Path | None = None, top: int | None = None, batch: int = 1, threads: int = 1,
            runtimes: Iterable[str] = ("eager", "torchscript"), warmup: int = 5, repeats: int = 20,
            flush_mb: float | None = None, layers: bool = True, remeasure: bool = False, gemm_n: int = GEMM_N,
            copy_mib: float = COPY_MIB, peak_repeats: int = REPEATS, out: str | Path | None = None,
            progress: Callable[[str], None] | None = None) -> Analysis:
    """Efficiency and waterline analysis of subnets on this machine (see ``nas.hardware.efficiency``).

    Everything is checked before anything is measured; with ``out`` the four files are written
    together at the end (``analysis.files`` names them)."""
    from .report import check_out_dir, write_outputs

    settings = check_settings(Settings(batch, threads, tuple(runtimes), warmup, repeats, flush_mb, layers))
    if out is not None:
        check_out_dir(out)
    space_obj, archs = resolve_archs(space, arch, run, top)
    if progress:
        progress("measuring the peaks" if remeasure else "peaks (cached, or measured on first use)")
    peaks = machine_peaks(settings.threads, remeasure=remeasure, gemm_n=gemm_n, copy_mib=copy_mib,
                          repeats=peak_repeats)
    subnets = analyze_subnets(space_obj, archs, settings, peaks, progress)
    analysis = Analysis(space_obj.name, settings, peaks, subnets, dict(DEFINITIONS))
    if out is not None:
        write_outputs(analysis, out)
    return analysis

