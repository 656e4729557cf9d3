"""Check a latency target against end-to-end timings of whole subnets on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from search_spaces import SearchSpace
from search_spaces.checks import check_fits_in_memory, check_seed
from search_spaces.errors import InvalidInput

from ._target import CostModel
from .fit import error_report

__all__ = ["measure_subnets", "validate_target", "plot_validation", "check_plot_path", "check_samples"]

#: memory per subnet timed end to end, rounded up: its op list (about 5 KB for once-for-all MobileNetV3),
#: arch dict and results; the genome is counted apart
SUBNET_BYTES = 8 * 1024


def check_samples(samples, space: SearchSpace) -> int:
    """``--samples``: a whole number >= 2 whose subnets fit in memory (10**11 would fail deep inside numpy)."""
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise InvalidInput(f"--samples must be a whole number >= 2, not {samples!r}")
    check_fits_in_memory(int(samples) * (SUBNET_BYTES + 8 * space.n_genes), f"--samples {samples}")
    return int(samples)


def check_plot_path(path: str | Path) -> Path:
    """A path matplotlib can save a figure to (checked before anything is timed)."""
    from matplotlib.backend_bases import FigureCanvasBase

    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"--plot {path} is a folder; give the path of an image file (e.g. check.png)")
    formats = FigureCanvasBase.get_supported_filetypes()
    fmt = path.suffix.lstrip(".").lower()
    if fmt and fmt not in formats:
        raise InvalidInput(f"--plot {path}: cannot save a plot as .{fmt}; use one of "
                           f"{', '.join('.' + f for f in sorted(formats))}")
    return path


#: frozen TorchScript modules stay in memory until their process ends (torch keeps their graphs, with the
#: weights folded in, in its global compilation unit): past this many bytes of weights, subnets are timed
#: in child processes that each time a share of them and exit
ISOLATE_BYTES = 1 << 30


def measure_subnets(space: SearchSpace, genomes: np.ndarray, *, device: str = "cpu", runtime: str = "torchscript",
                    batch: int = 1, threads: int | None = 1, warmup: int = 10, repeats: int = 30,
                    flush_mb: float | None = None, passes: int = 1,
                    progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, dict]:
    """End-to-end latency (ms) of each subnet, timed as the profiler times single ops: the median of
    ``repeats`` calls, and with ``passes`` > 1 the smallest of that many such medians, taken in passes
    over all subnets (background load on a shared machine only ever slows a pass down)."""
    from . import opbench
    from .opspec import structured

    try:
        settings = opbench.run_settings(device, runtime, batch, "float32", threads, warmup, repeats, flush_mb)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    structured(space)
    if isinstance(passes, bool) or not isinstance(passes, (int, np.integer)) or passes < 1:
        raise InvalidInput(f"--passes must be a whole number >= 1, not {passes!r}")
    genomes = space.check_genomes(genomes)
    nets = [(space.layers(arch), space.input_shape(arch)) for arch in space.decode_many(genomes)]
    weights = 4 * space.count(genomes)["params"].astype(np.float64)
    chunks, start = [], 0  # consecutive subnets whose weights stay under ISOLATE_BYTES together
    while start < len(nets):
        stop = start + 1
        while stop < len(nets) and weights[start:stop + 1].sum() <= ISOLATE_BYTES:
            stop += 1
        chunks.append(range(start, stop))
        start = stop
    out = np.full(len(nets), np.inf)
    isolate = len(chunks) > 1 or passes * weights.sum() > ISOLATE_BYTES
    for _ in range(passes):
        for chunk in chunks:
            part = [nets[i] for i in chunk]
            ms = _in_child(part, settings) if isolate else time_nets(part, settings)
            out[list(chunk)] = np.minimum(out[list(chunk)], ms)
            if progress is not None:
                progress(len(chunk))
    return out, settings | {"passes": int(passes)}


def time_nets(nets, settings: dict) -> list[float]:
    """Median latency (ms) of each (ops, input shape) built as a static subnet, under ``settings``."""
    import torch

    from supernets.static import StaticNet

    from . import opbench

    dev = torch.device(settings["torch_device"])
    flush = opbench.flush_buffer(settings["torch_device"], settings["flush_mb"])
    out = []
    with opbench.fixed_threads(settings["threads"]):
        for ops, shape in nets:
            net = StaticNet(ops, shape).to(dev)
            x = torch.randn(settings["batch_size"], *shape, device=dev)
            fn = opbench.prepare(net, settings["runtime"], x)
            out.append(opbench.summarize(opbench.time_module(fn, x, settings["warmup"], settings["repeats"],
                                                             flush))[0])
    return out


def _in_child(nets, settings: dict) -> list[float]:
    """``time_nets`` in a fresh interpreter (the ops travel pickled over a pipe: our own objects only)."""
    import pickle
    import subprocess
    import sys

    code = "from nas.hardware.validate import child_main; child_main()"
    done = subprocess.run([sys.executable, "-c", code], input=pickle.dumps((nets, settings)), capture_output=True)
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or [f"exit code {done.returncode}"]
        raise RuntimeError(f"timing subnets in a child process failed: {lines[-1]}")
    return pickle.loads(done.stdout)


def child_main() -> None:
    """The child side of ``_in_child``: read (nets, settings) from stdin, write the timings to stdout."""
    import pickle
    import sys

    nets, settings = pickle.loads(sys.stdin.buffer.read())
    sys.stdout.buffer.write(pickle.dumps(time_nets(nets, settings)))


def validate_target(target: CostModel, samples: int = 100, seed: int = 0, *, plot: str | Path | None = None,
                    progress: Callable[[int], None] | None = None, **timing) -> dict:
    """Predict and measure ``samples`` random subnets; report the share within +-10%, RMSE and a scatter."""
    if target.metric != "latency":
        raise InvalidInput(f"target {target.name} predicts {target.metric}, not latency; nothing to time")
    space = target.space
    check_samples(samples, space)
    check_seed(seed)
    if plot is not None:
        check_plot_path(plot)
    genomes = space.sample(samples, np.random.default_rng(seed))
    predicted = target.predict(genomes)
    measured, settings = measure_subnets(space, genomes, progress=progress, **timing)
    report = error_report(predicted, measured)
    meta = target.metadata
    mismatch = [k for k in ("runtime", "batch_size", "threads")
                if k in meta and k in settings and meta[k] != settings[k]]
    result = {"target": target.name, "space": space.name, "samples": samples, "seed": seed, **report,
              "timing": {k: settings[k] for k in ("device", "runtime", "batch_size", "threads", "flush_mb", "passes")},
              "target_device": meta.get("device"), "arch_ids": space.arch_ids(genomes),
              "predicted_ms": predicted.tolist(), "measured_ms": measured.tolist()}
    if mismatch:
        result["warning"] = (f"the target was made with {mismatch[0]}={meta[mismatch[0]]!r}, "
                             f"timed here with {settings[mismatch[0]]!r}")
    if plot is not None:
        result["plot"] = str(plot_validation(predicted, measured, plot, f"{target.name} on {space.name}: "
                                             f"{100 * report['within_10pct']:.0f}% within +-10%"))
    return result


def plot_validation(predicted: np.ndarray, measured: np.ndarray, path: str | Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io import atomic_path

    path = Path(path)
    lo, hi = float(min(predicted.min(), measured.min())) * 0.9, float(max(predicted.max(), measured.max())) * 1.1
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.fill_between([lo, hi], [lo * 0.9, hi * 0.9], [lo * 1.1, hi * 1.1], color="tab:green", alpha=0.15,
                    label="+-10%")
    ax.plot([lo, hi], [lo, hi], color="tab:green", lw=1)
    ax.scatter(measured, predicted, s=12, color="tab:blue")
    ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="measured latency (ms)", ylabel="predicted latency (ms)", title=title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=120)
    plt.close(fig)
    return path
