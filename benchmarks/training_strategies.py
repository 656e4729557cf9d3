"""Supernet training strategies at an equal epoch budget on a CIFAR-10 subset (ofa-mbv3-cifar).

Baseline: ``progressive-shrinking`` (once-for-all), trained in the same run with the same data,
seed, batch size, learning rate and epochs as ``deps`` and ``sandwich``. Each strategy trains in
its own single-threaded process (they run side by side). Measured for every strategy: top-1 on
the CIFAR-10 test images of the largest, the smallest and 5 fixed random subnets (the same ones for
all strategies; BN recalibrated on training images), and the median time per epoch. A fourth run,
``deps`` with 0.6x the epochs, checks the DεpS paper's claim that it reaches progressive shrinking's
mean subnet accuracy in <= 0.6x the epochs.

Run: python benchmarks/training_strategies.py [--train-images 1000] [--epochs 10] [--short 0.6]
Needs ../shared/data/images/cifar10_subset_5k_1k_uint8.npz (skips with a message when absent).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("NAS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "images" / \
    "cifar10_subset_5k_1k_uint8.npz"
STRATEGIES = ("progressive-shrinking", "deps", "sandwich")


def make_subset(path: Path, n_train: int, seed: int = 0) -> None:
    """A class-balanced subset of the training images, plus every test image."""
    with np.load(DATA) as f:
        x, y, xt, yt, classes = f["x_train"], f["y_train"], f["x_test"], f["y_test"], f["classes"]
    rng = np.random.default_rng(seed)
    per_class = n_train // len(classes)
    keep = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per_class] for c in range(len(classes))])
    keep = rng.permutation(keep)
    np.savez(path, x_train=x[keep], y_train=y[keep], x_test=xt, y_test=yt, classes=classes)


def fixed_subnets(space) -> dict:
    from nas.train.strategies.base import max_arch, min_arch

    archs = {"max": max_arch(space), "min": min_arch(space)}
    for i, arch in enumerate(space.decode_many(space.sample(5, np.random.default_rng(2024)))):
        archs[f"random{i}"] = arch
    return archs


def worker(args) -> None:
    """Train one strategy and measure its subnets; writes a JSON file."""
    import torch

    torch.set_num_threads(1)
    from nas.evaluate import build_evalset, evaluate_archs
    from nas.train import train
    from supernets.checkpoint import load_supernet

    start = time.perf_counter()
    result = train("ofa-mbv3-cifar", args.worker, args.data, epochs=args.epochs, out=Path(args.tmp) / args.tag,
                   batch_size=args.batch_size, lr=args.lr, holdout=50, eval_every=0, seed=args.seed)
    train_s = time.perf_counter() - start
    supernet, meta = load_supernet(result.checkpoint)
    archs = fixed_subnets(supernet.space)
    evalset = build_evalset(args.data, meta=meta, split="test", bn_images=args.bn_images,
                            eval_images=args.test_images)
    acc = evaluate_archs(supernet, list(archs.values()), evalset, args.bn_images)
    out = {"strategy": args.worker, "epochs": args.epochs, "train_s": train_s,
           "median_epoch_s": statistics.median(result.metrics["epoch_s"]),
           "accuracy": dict(zip(archs, acc.tolist())), "mean_accuracy": float(acc.mean()),
           "metrics": result.metrics.to_dict(orient="list")}
    Path(args.result).write_text(json.dumps(out, indent=2))


def run_side_by_side(commands: dict[str, list[str]], cwd: Path | None = None) -> None:
    """Start every command at once (one thread each) and wait for all; one failing stops the others."""
    procs = {name: subprocess.Popen(cmd, cwd=cwd, env={**os.environ, "OMP_NUM_THREADS": "1"})
             for name, cmd in commands.items()}
    try:
        for name, proc in procs.items():
            if proc.wait() != 0:
                raise SystemExit(f"{name} failed with exit code {proc.returncode}")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()  # a nas run stops at its last checkpoint
                proc.wait()


def subnet_bars(ax, results: dict) -> None:
    """Grouped bars: each measured subnet's top-1 and their mean, one bar colour per labelled run."""
    names = list(next(iter(results.values()))["accuracy"]) + ["mean"]
    width = 0.8 / len(results)
    for i, (label, r) in enumerate(results.items()):
        values = [r["accuracy"][n] for n in names[:-1]] + [r["mean_accuracy"]]
        ax.bar(np.arange(len(names)) + i * width, values, width, label=label)
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=30)


def plot(report: dict, path: Path) -> None:
    """Training loss per epoch (left) and top-1 of each measured subnet per strategy (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    for tag, curve in report["curves"].items():
        ax_loss.plot(curve["epoch"], curve["loss"], marker="o", label=tag)
    # each strategy's own loss: progressive shrinking adds label and distillation terms, so its
    # shrinking phases sit higher; compare curves within a strategy, accuracies across them
    ax_loss.set(xlabel="epoch", ylabel="training loss (strategy's own objective)", title="training loss")
    ax_loss.legend()
    results = report["results"]
    subnet_bars(ax_acc, {f"{tag} ({r['epochs']} ep)": r for tag, r in results.items()})
    ax_acc.set(ylabel="top-1 on CIFAR-10 test (%)", title="subnet accuracy (BN recalibrated)")
    ax_acc.set_ylim(0, max(r["accuracy"]["max"] for r in results.values()) * 1.3)
    ax_acc.legend(fontsize=8, loc="upper center", ncol=2)
    scale = report["scale"]
    fig.suptitle(f"{scale['space']}: {scale['train_images']} CIFAR-10 training images, {scale['epochs']} epochs")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-images", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--short", type=float, default=0.6, help="epoch share of the short deps run")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--bn-images", type=int, default=500)
    ap.add_argument("--test-images", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "training_strategies.json"))
    ap.add_argument("--plot-only", action="store_true", help="redraw the PNG from the JSON of --out")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--tag", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--tmp", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    if args.plot_only:
        plot(json.loads(Path(args.out).read_text()), Path(args.out).with_suffix(".png"))
        return
    if not DATA.is_file():
        print(f"skipped: {DATA} is not available")
        return
    short_epochs = max(1, int(args.short * args.epochs + 1e-9))  # never above the claimed share
    runs = [(s, s, args.epochs) for s in STRATEGIES] + [("deps-short", "deps", short_epochs)]
    start = time.perf_counter()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "cifar10_subset.npz"
        make_subset(data, args.train_images, args.seed)
        print(f"training in {tmp} (metrics.csv per run)", flush=True)
        run_side_by_side({tag: [sys.executable, __file__, "--worker", strategy, "--tag", tag, "--epochs", str(epochs),
                                "--data", str(data), "--tmp", tmp, "--result", str(Path(tmp) / f"{tag}.json"),
                                "--batch-size", str(args.batch_size), "--lr", str(args.lr),
                                "--bn-images", str(args.bn_images), "--test-images", str(args.test_images),
                                "--seed", str(args.seed)]
                          for tag, strategy, epochs in runs})
        results = {tag: json.loads((Path(tmp) / f"{tag}.json").read_text()) for tag, _, _ in runs}
    ps, deps, short = results["progressive-shrinking"], results["deps"], results["deps-short"]
    report = {
        "benchmark": "training_strategies",
        "baseline": "progressive-shrinking trained in the same run (same data, seed, batch, lr, epochs)",
        "scale": {"space": "ofa-mbv3-cifar", "train_images": args.train_images, "test_images": args.test_images,
                  "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "bn_images": args.bn_images,
                  "seeds": 1, "threads_per_run": 1, "runs_side_by_side": len(runs)},
        "machine": platform.platform(), "processor": platform.processor() or platform.machine(),
        "wall_s": time.perf_counter() - start,
        "load_average_1_5_15_min": {"start": load_before, "end": os.getloadavg()},
        "results": {tag: {k: v for k, v in r.items() if k != "metrics"} for tag, r in results.items()},
        "curves": {tag: {k: r["metrics"][k] for k in ("epoch", "loss", "phase")} for tag, r in results.items()},
        "goals": {
            "deps_min_minus_ps_min": deps["accuracy"]["min"] - ps["accuracy"]["min"],
            "deps_min_at_least_ps_min": deps["accuracy"]["min"] >= ps["accuracy"]["min"],
            "short_deps_epoch_ratio": short_epochs / args.epochs,
            "short_deps_mean_minus_ps_mean": short["mean_accuracy"] - ps["mean_accuracy"],
            "deps_reaches_ps_mean_in_short_epochs": short["mean_accuracy"] >= ps["mean_accuracy"],
        },
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    plot(report, path.with_suffix(".png"))
    print(f"wrote {path} and its .png ({report['wall_s'] / 60:.1f} min)")
    for tag, r in report["results"].items():
        a = r["accuracy"]
        print(f"{tag:22s} {r['epochs']:3d} ep  max {a['max']:5.1f}  min {a['min']:5.1f}  mean {r['mean_accuracy']:5.1f}"
              f"  {r['median_epoch_s']:6.1f} s/epoch")
    print(json.dumps(report["goals"], indent=2))


if __name__ == "__main__":
    main()
