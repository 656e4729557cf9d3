r"""DεpS against progressive shrinking on all of CIFAR-10 at equal epochs, DεpS's warm-up share swept with
``nas tune`` (issue 17, item 5).

Baseline: ``progressive-shrinking`` (once-for-all), one ``nas train`` run. Against it: a ``nas tune``
sweep of ``deps`` over ``shrink_start`` (the share of the epochs that trains the full network alone
before shrinking starts), every trial run to the same epochs (ASHA's grace period is the whole run,
so no trial is stopped early). Both use the same space, data, hold-out, seed, batch, learning rate and
epochs. Measured, for the baseline and each trial: top-1 on the 10,000 CIFAR-10 test images of the
largest, the smallest and 5 fixed random subnets (BN recalibrated on training images), their mean, and
from the per-epoch held-out curves the first epoch at which a trial's ``val_acc_mean`` (mean of the
largest and the smallest subnet) reaches the baseline's final one. Goals after the DεpS paper: DεpS >= PS
on the smallest subnet; PS's mean reached in <= 0.6x the epochs.

The runs take CPU-hours (``ofa-mbv3-cifar-small``, the space cheap enough for full CIFAR-10 here), so
they live in ``--work`` (default ``artifacts/deps_vs_ps``, a folder a session can commit to carry
unfinished runs to the next): run the script again and the baseline resumes with ``nas train --resume``
and the sweep with ``nas tune --resume``;
``--report-only`` writes what the runs have reached so far (unfinished runs are reported as such). The
baseline and the sweep train side by side, one thread per run; ``--sweep-workers K`` trains K trials at once.

    nohup python benchmarks/deps_vs_ps_cifar.py > deps_vs_ps.log 2>&1 &
    python benchmarks/deps_vs_ps_cifar.py --report-only

A second sweep (``--sweep-name deps-2 --sampler-seed 5``) trains beside the first in the same ``--work``; the report
covers every sweep there.

The run recorded in benchmarks/README (4 epochs, 2 trials at once; each call fits a session on 2 cores):

    nohup python benchmarks/deps_vs_ps_cifar.py --epochs 4 --trials 2 --sweep-workers 2 \
        --work runs/deps_vs_ps_4ep > deps_vs_ps.log 2>&1 &
    nohup python benchmarks/deps_vs_ps_cifar.py --epochs 4 --trials 2 --sweep-workers 2 \
        --sweep-name deps-2 --sampler-seed 5 --work runs/deps_vs_ps_4ep > deps_vs_ps_2.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.training_strategies import fixed_subnets, run_side_by_side, subnet_bars  # noqa: E402

DATA = Path(os.environ.get("NAS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "images" / \
    "cifar10_jpg_60000.tar.gz"
SPACE = "ofa-mbv3-cifar-small"


def common(args) -> list[str]:
    steps = ["--steps-per-epoch", str(args.steps_per_epoch)] if args.steps_per_epoch else []
    return ["--batch-size", str(args.batch_size), "--lr", str(args.lr), "--holdout", "5000",
            "--eval-images", str(args.eval_images), "--bn-images", str(args.bn_images), *steps]


def baseline_command(args, run: Path) -> list[str]:
    if (run / "supernet.pt").is_file():
        return []
    if (run / "config.json").is_file():
        return ["train", "--resume", str(run), "--threads", "1"]
    return ["train", "--space", SPACE, "--strategy", "progressive-shrinking", "--data", str(args.data),
            "--epochs", str(args.epochs), "--seed", str(args.seed), "--threads", "1", *common(args),
            "--eval-every", "1", "--out", str(run)]


def sweep_command(args, sweep: Path) -> list[str]:
    if (sweep / "best.json").is_file():
        return []
    if (sweep / "tune.json").is_file():
        return ["tune", "--resume", str(sweep), "--workers", str(args.sweep_workers)]
    return ["tune", "--space", SPACE, "--strategy", "deps", "--data", str(args.data), "--epochs", str(args.epochs),
            "-p", f"shrink_start=uniform({args.share_low},{args.share_high})", "--trials", str(args.trials),
            "--grace-period", str(args.epochs), "--metric", "val_acc_mean", "--seed", str(args.sampler_seed),
            "--workers", str(args.sweep_workers), *common(args), "--out", str(sweep)]


def train_all(args) -> None:
    """The baseline and the sweep side by side; either failing stops both."""
    sweep = args.work / args.sweep_name
    commands = [c for c in (baseline_command(args, args.work / "ps"), sweep_command(args, sweep)) if c]
    full = {f"nas {c[0]}": [sys.executable, "-m", "nas", *c, "--no-progress"] for c in commands}
    for cmd in full.values():
        print("+", " ".join(cmd), flush=True)
    run_side_by_side(full, cwd=ROOT)


def runs(work: Path) -> dict[str, tuple[Path, dict]]:
    """Tag -> (run directory, sampled options) for the baseline and every trial of every sweep that has started."""
    found = {"progressive-shrinking": (work / "ps", {})}
    for trial in sorted(work.glob("deps*/trials/*/config.json")):
        options = json.loads(trial.read_text())["train"]["strategy_options"]
        tag = f"deps shrink_start={options.get('shrink_start', 0.5):.2f}"
        if tag in found:  # two trials rounding alike: the trial id keeps both
            tag += f" ({trial.parent.name})"
        found[tag] = (trial.parent, options)
    return {tag: v for tag, v in found.items() if (v[0] / "metrics.csv").is_file()}


def sweeps(work: Path) -> dict[str, dict]:
    """Each DεpS sweep in ``work``: what it sampled, how many trials, the sampler's seed (from its tune.json)."""
    found = {}
    for setup in sorted(work.glob("deps*/tune.json")):
        tune = json.loads(setup.read_text())
        found[setup.parent.name] = {"params": tune["params"], "trials": tune["trials"], "sampler_seed": tune["seed"]}
    return found


def measure(run: Path, images, test_bn_images: int) -> dict:
    from nas.evaluate import build_evalset, evaluate_archs
    from supernets.checkpoint import load_supernet

    supernet, meta = load_supernet(run / "supernet.pt")
    archs = fixed_subnets(supernet.space)
    evalset = build_evalset(images, meta=meta, split="test", bn_images=test_bn_images)
    acc = evaluate_archs(supernet, list(archs.values()), evalset, test_bn_images)
    return {"accuracy": dict(zip(archs, acc.tolist())), "mean_accuracy": float(acc.mean())}


def first_epoch_reaching(curve: pd.DataFrame, target: float) -> int | None:
    """Epochs (1-based count) until ``val_acc_mean`` first reaches ``target``; None if it never does."""
    hit = curve.index[curve["val_acc_mean"] >= target]
    return int(curve.loc[hit[0], "epoch"]) + 1 if len(hit) else None


def report(args, wall_s: float | None) -> dict:
    found = runs(args.work)
    if "progressive-shrinking" not in found:
        raise SystemExit(f"nothing to report: {args.work / 'ps'} has no metrics.csv yet")
    results, curves, images = {}, {}, None
    for tag, (run, options) in found.items():
        metrics = pd.read_csv(run / "metrics.csv")
        metrics["val_acc_mean"] = (metrics["val_acc_max"] + metrics["val_acc_min"]) / 2
        curves[tag] = metrics[["epoch", "phase", "loss", "val_acc_max", "val_acc_min", "val_acc_mean"]]
        finished = (run / "supernet.pt").is_file()
        entry = {"run": str(run.relative_to(ROOT) if run.is_relative_to(ROOT) else run), "options": options,
                 "finished": finished, "epochs_done": len(metrics), "epochs": args.epochs,
                 "median_epoch_s": float(metrics["epoch_s"].median()),
                 "last_heldout": metrics.iloc[-1][["val_acc_max", "val_acc_min", "val_acc_mean"]].to_dict()}
        if finished:
            if images is None:
                from nas.data import load_images

                images = load_images(args.data)  # decoded once for every run
            print(f"measuring {tag} on the test split", flush=True)
            entry.update(measure(run, images, args.test_bn_images))
        results[tag] = entry
    ps = results["progressive-shrinking"]
    goals = {}
    if ps["finished"]:
        target = float(curves["progressive-shrinking"]["val_acc_mean"].iloc[-1])
        for tag, r in results.items():
            if tag == "progressive-shrinking":
                continue
            reached = first_epoch_reaching(curves[tag], target)
            r["epochs_to_ps_final_heldout_mean"] = reached
            if r["finished"]:
                goals[tag] = {
                    "min_minus_ps_min": r["accuracy"]["min"] - ps["accuracy"]["min"],
                    "min_at_least_ps_min": r["accuracy"]["min"] >= ps["accuracy"]["min"],
                    "mean_minus_ps_mean": r["mean_accuracy"] - ps["mean_accuracy"],
                    "epoch_ratio_to_ps_mean": None if reached is None else reached / args.epochs,
                    "ps_mean_in_at_most_0.6x_epochs": reached is not None and reached <= 0.6 * args.epochs,
                }
    out = {
        "benchmark": "deps_vs_ps_cifar",
        "baseline": "progressive-shrinking trained with the same space, data, hold-out, seed, batch, lr, epochs",
        "scale": {"space": SPACE, "data": str(args.data), "train_images": 45000, "holdout_images": 5000,
                  "test_images": 10000, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                  "sweeps": sweeps(args.work), "threads_per_run": 1, "trials_at_once": args.sweep_workers,
                  "heldout_eval_images": args.eval_images},
        "machine": platform.platform(), "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(), "load_average_1_5_15_min": os.getloadavg(), "this_call_wall_s": wall_s,
        "results": results, "goals": goals,
        "curves": {tag: c.to_dict(orient="list") for tag, c in curves.items()},
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, default=float) + "\n")
    plot(out, path.with_suffix(".png"))
    print(f"wrote {path} and its .png")
    for tag, r in results.items():
        state = "finished" if r["finished"] else f"UNFINISHED at epoch {r['epochs_done']}/{r['epochs']}"
        test = (f"test max {r['accuracy']['max']:.1f} min {r['accuracy']['min']:.1f} mean {r['mean_accuracy']:.1f}"
                if r["finished"] else "not measured on test")
        h = r["last_heldout"]
        print(f"{tag:28s} {state:26s} held-out max {h['val_acc_max']:.1f} min {h['val_acc_min']:.1f}  {test}")
    return out


def plot(out: dict, path: Path) -> None:
    """Held-out mean of the largest and smallest subnet per epoch (left); test top-1 per subnet (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (ax_curve, ax_bar) = plt.subplots(1, 2, figsize=(12, 4.5))
    for tag, c in out["curves"].items():
        ax_curve.plot(np.asarray(c["epoch"]) + 1, c["val_acc_mean"], marker="o", label=tag,
                      linewidth=2.5 if tag == "progressive-shrinking" else 1.2)
    ax_curve.set(xlabel="epoch", ylabel="held-out top-1, mean of largest and smallest (%)",
                 title="accuracy per epoch")
    ax_curve.legend(fontsize=8)
    done = {t: r for t, r in out["results"].items() if r["finished"]}
    if done:
        subnet_bars(ax_bar, done)
        ax_bar.legend(fontsize=8)
    ax_bar.set(ylabel="top-1 on the CIFAR-10 test split (%)", title="finished runs: subnet accuracy")
    scale = out["scale"]
    fig.suptitle(f"{scale['space']} on all of CIFAR-10, {scale['epochs']} epochs: DεpS vs progressive shrinking")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--trials", type=int, default=3, help="DεpS trials (shrink_start values) in the sweep")
    ap.add_argument("--sweep-workers", type=int, default=1,
                    help="DεpS trials training at once (one thread each) beside the baseline")
    ap.add_argument("--share-low", type=float, default=0.2)
    ap.add_argument("--share-high", type=float, default=0.6)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--eval-images", type=int, default=1000, help="held-out images per epoch's evaluation")
    ap.add_argument("--bn-images", type=int, default=500)
    ap.add_argument("--test-bn-images", type=int, default=2000)
    ap.add_argument("--steps-per-epoch", type=int, help="cap the steps of an epoch (a smoke run; default: all)")
    ap.add_argument("--seed", type=int, default=0, help="training seed of every run")
    ap.add_argument("--sweep-name", default="deps",
                    help="sweep directory under --work (deps*); a second name adds a sweep beside the first")
    ap.add_argument("--sampler-seed", type=int, default=0, help="seed of the sweep's Optuna sampler")
    ap.add_argument("--work", type=Path, default=ROOT / "artifacts" / "deps_vs_ps")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "deps_vs_ps_cifar.json"))
    ap.add_argument("--report-only", action="store_true", help="report what the runs in --work have reached")
    args = ap.parse_args()
    if not args.sweep_name.startswith("deps") or Path(args.sweep_name).name != args.sweep_name:
        ap.error(f"--sweep-name {args.sweep_name!r}: a directory name starting with 'deps' (deps, deps-2, ...)")
    if not args.data.exists():
        print(f"skipped: {args.data} is not available")
        return
    start = time.perf_counter()
    if not args.report_only:
        args.work.mkdir(parents=True, exist_ok=True)
        train_all(args)
    report(args, time.perf_counter() - start)


if __name__ == "__main__":
    main()
