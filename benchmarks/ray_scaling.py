"""Ray Train with 2 workers (DDP on gloo, 1 thread each) vs a single process, same global batch.

Baseline: the in-process loop on the same data, seed and global batch, with 2 threads (all cores)
and with 1 thread, timed in the same run. Measured: training throughput (images per second of the
optimizer loop, median over epochs, Ray start-up excluded; wall time including it is reported too)
and the per-epoch training loss curves, which should agree: each rank trains the same subnet on
half of the same global batch, so only per-rank BN batch statistics differ.

Run: python benchmarks/ray_scaling.py [--strategy sandwich] [--epochs 6] [--steps 4] [--batch-size 64]
Uses 1,280 images of ../shared/data/images/cifar10_subset_5k_1k_uint8.npz (synthetic data when absent).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("NAS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "images" / \
    "cifar10_subset_5k_1k_uint8.npz"


def plot(report: dict, path: Path) -> None:
    """Per-epoch training loss of every run: the Ray curve should lie on the single-process ones."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for name, run in report["runs"].items():
        ax.plot(range(len(run["loss"])), run["loss"], marker="o",
                label=f"{name} ({run['images_per_s']:.1f} img/s)")
    setup = report["setup"]
    ax.set(xlabel="epoch", ylabel="training loss", title=f"{setup['strategy']} on {setup['space']}, global batch "
                                                         f"{setup['global_batch']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strategy", default="sandwich")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--steps", type=int, default=4, help="optimizer steps per epoch")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--images", type=int, default=1280)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ray_scaling.json"))
    ap.add_argument("--plot-only", action="store_true", help="redraw the PNG from the JSON of --out")
    args = ap.parse_args()
    if args.plot_only:
        plot(json.loads(Path(args.out).read_text()), Path(args.out).with_suffix(".png"))
        return
    import torch

    from nas.train import train

    settings = {"batch_size": args.batch_size, "steps_per_epoch": args.steps, "eval_every": 0, "holdout": 64,
                "seed": 0}
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if DATA.is_file():
            data = Path(tmp) / "subset.npz"
            with np.load(DATA) as f:
                np.savez(data, x_train=f["x_train"][:args.images], y_train=f["y_train"][:args.images])
            source = f"cifar10_subset_5k_1k_uint8.npz, first {args.images} training images"
        else:
            data = f"synthetic:n_train={args.images},n_test=0"
            source = data
        plans = [("single_2_threads", None, 2), ("single_1_thread", None, 1), ("ray_2_workers", 2, 1)]
        for name, workers, threads in plans:
            torch.set_num_threads(threads)
            load_before = os.getloadavg()[0]
            start = time.perf_counter()
            result = train("ofa-mbv3-cifar", args.strategy, str(data), epochs=args.epochs, out=Path(tmp) / name,
                           workers=workers, **settings)
            wall = time.perf_counter() - start
            m = result.metrics
            runs[name] = {"workers": workers, "threads_per_process": threads, "wall_s": wall,
                          "images_per_s": statistics.median(m["images_per_s"]),
                          "epoch_s": statistics.median(m["epoch_s"]), "loss": m["loss"].tolist(),
                          "loss_max": m["loss_max"].tolist() if "loss_max" in m else None,
                          # other processes on the machine skew throughput: record the 1-min load around each run
                          "load_average_1min": {"start": load_before, "end": os.getloadavg()[0]}}
            print(f"{name:18s} {runs[name]['images_per_s']:7.1f} img/s  wall {wall:6.1f} s  "
                  f"loss {' '.join(f'{v:.4f}' for v in m['loss'])}", flush=True)
    base, ray = runs["single_2_threads"], runs["ray_2_workers"]
    rel = np.abs(np.array(ray["loss"]) - np.array(base["loss"])) / np.array(base["loss"])
    report = {
        "benchmark": "ray_scaling",
        "baseline": "the in-process loop with 2 threads (and with 1 thread), same data, seed and global batch",
        "setup": {"space": "ofa-mbv3-cifar", "strategy": args.strategy, "epochs": args.epochs,
                  "steps_per_epoch": args.steps, "global_batch": args.batch_size, "data": source,
                  "ray_backend": "gloo (DDP, find_unused_parameters)"},
        "machine": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
        "runs": runs,
        "ratios": {"ray_vs_single_2_threads_throughput": ray["images_per_s"] / base["images_per_s"],
                   "ray_vs_single_1_thread_throughput": ray["images_per_s"] / runs["single_1_thread"]["images_per_s"],
                   "ray_vs_single_2_threads_wall": ray["wall_s"] / base["wall_s"]},
        "loss_curve_max_relative_difference": float(rel.max()),
        "loss_curve_mean_relative_difference": float(rel.mean()),
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    plot(report, path.with_suffix(".png"))
    print(f"wrote {path} and its .png")
    print(json.dumps({"ratios": report["ratios"], "loss_max_rel_diff": report["loss_curve_max_relative_difference"]},
                     indent=2))


if __name__ == "__main__":
    main()
