"""How well one supernet, and a balanced mixture of supernets, rank ResNet20's 36 pooling placements
(Balanced Mixture of SuperNets, BMS) against stand-alone training, on full CIFAR-10.

Baseline: ``spos`` (M=1, one fully shared supernet), trained in the same way on the same data as
``balanced-mixture`` with M members (BMS's recipe: SGD lr 0.1, momentum 0.9, batch 128, a 50/50
split of the 50,000 training images, cosine per epoch), for the same number of epochs. Each run
then scores all 36 placements (the mixture: each with its assigned member; BN recalibrated on 2000
training images) on the held-out half. Reported per M: Kendall tau and Spearman rho against the
published stand-alone accuracies (means of several 200-epoch trainings,
``../shared/data/benchmarks/bms-resnet20/``), the placement it picks and that placement's
stand-alone accuracy; plus the accuracy/latency front over the 36 placements, latency measured end
to end on this CPU (TorchScript, batch 1, one thread).

Training takes hours here: run each M in the background in its own process (they resume where a
kill left them), then report:

    nohup python benchmarks/bms_ranking.py train --members 1 --epochs 15 &
    nohup python benchmarks/bms_ranking.py train --members 4 --epochs 15 &
    python benchmarks/bms_ranking.py report --members 1 4
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("NAS_SHARED_DATA", ROOT.parent / "shared" / "data"))
DATA = SHARED / "images" / "cifar10_jpg_60000.tar.gz"
PUBLISHED = SHARED / "benchmarks" / "bms-resnet20" / "resnet20_standalone_and_supernet_accuracy.csv"
RUNS = ROOT / "runs" / "bms"
RESULT = ROOT / "benchmarks" / "results" / "bms_ranking.json"
SPACE = "resnet20-pooling"
#: the BMS repository's own results file: Kendall tau of each M against stand-alone, and picks
ANCHORS = {"tau": {"1": 0.143, "2": 0.312, "4": 0.597, "8": 0.530},
           "picks": {"M4 pick [5,3,2]": 91.55, "default [4,3,3]": 90.52, "best [7,1,2]": 92.01}}


def run_dir(members: int, epochs: int) -> Path:
    return RUNS / f"m{members}_e{epochs}"


def train(args) -> None:
    from nas.train import train as run_training

    out = run_dir(args.members, args.epochs)
    strategy = "spos" if args.members == 1 else "balanced-mixture"
    options = {} if args.members == 1 else {"members": args.members}
    common = dict(threads=args.threads, log=lambda line: print(line, flush=True))
    start = time.perf_counter()
    if (out / "config.json").is_file():
        result = run_training(resume=out, **common)
    else:
        result = run_training(SPACE, strategy, DATA, epochs=args.epochs, out=out, strategy_options=options,
                              eval_every=0, seed=args.seed, **common)
    print(f"trained M={args.members} in {time.perf_counter() - start:.0f} s: {result.checkpoint}", flush=True)


def published() -> dict[int, float]:
    with open(PUBLISHED) as f:
        return {int(r["architecture"]): float(r["baseline_avg"]) for r in csv.DictReader(f)}


def report(args) -> None:
    import torch
    from scipy.stats import kendalltau, spearmanr

    from nas.evaluate import evaluate_checkpoint
    from nas.hardware.validate import measure_subnets
    from search_spaces import get_space
    from search_spaces.resnet20_pooling import PLACEMENTS, config_of

    torch.set_num_threads(args.threads)
    space = get_space(SPACE)
    archs = [{"pool": list(p)} for p in PLACEMENTS]
    standalone = published()
    truth = np.array([standalone[config_of(a["pool"])] for a in archs])
    start = time.perf_counter()
    load = [os.getloadavg()[0]]
    latency, _ = measure_subnets(space, space.encode_many(archs), passes=2)
    out = {"benchmark": "bms_ranking", "space": SPACE, "data": str(DATA), "device": platform.processor() or
           platform.machine(), "eval": {"split": "holdout (the half of the training images BMS validates on)",
                                        "images": args.eval_images, "bn_images": 2000},
           "latency_ms": dict(zip([str(config_of(a["pool"])) for a in archs], np.round(latency, 4).tolist())),
           "anchors_published": ANCHORS, "runs": {}}
    for members in args.members:
        ckpt = run_dir(members, args.epochs) / "supernet.pt"
        if not ckpt.is_file():
            print(f"M={members}: no finished run at {ckpt}; skipped", flush=True)
            continue
        metrics = run_dir(members, args.epochs) / "metrics.csv"
        with open(metrics) as f:
            rows = list(csv.DictReader(f))
        cached = run_dir(members, args.epochs) / f"accuracy36_{args.eval_images}.json"  # a rerun reuses it
        if cached.is_file() and cached.stat().st_mtime > ckpt.stat().st_mtime:
            acc = np.array(json.loads(cached.read_text()))
        else:
            acc = evaluate_checkpoint(ckpt, DATA, archs=archs, eval_images=args.eval_images, bn_images=2000,
                                      batch_size=256).table["accuracy"].to_numpy()
            cached.write_text(json.dumps(acc.tolist()))
        pick = int(np.argmax(acc))
        front = _front(latency, acc)
        out["runs"][str(members)] = {
            "epochs": len(rows), "train_s": round(sum(float(r["epoch_s"]) for r in rows), 1),
            "final_train_acc": float(rows[-1]["train_acc"]),
            "kendall_tau": float(kendalltau(acc, truth)[0]), "spearman_rho": float(spearmanr(acc, truth)[0]),
            "pick": {"pool": archs[pick]["pool"], "config": config_of(archs[pick]["pool"]),
                     "supernet_acc": float(acc[pick]), "standalone_acc": float(truth[pick])},
            "accuracy": {str(config_of(a["pool"])): round(float(v), 3) for a, v in zip(archs, acc)},
            "front": [{"config": config_of(archs[i]["pool"]), "pool": archs[i]["pool"],
                       "latency_ms": round(float(latency[i]), 4), "supernet_acc": round(float(acc[i]), 3),
                       "standalone_acc": float(truth[i])} for i in front],
        }
        r = out["runs"][str(members)]
        print(f"M={members}: tau {r['kendall_tau']:.3f} rho {r['spearman_rho']:.3f} pick {r['pick']}", flush=True)
        load.append(os.getloadavg()[0])
    if "1" in out["runs"]:
        for r in out["runs"].values():
            r["tau_minus_M1"] = round(r["kendall_tau"] - out["runs"]["1"]["kendall_tau"], 4)
    out["report_s"] = round(time.perf_counter() - start, 1)
    out["load_avg"] = load
    out["date"] = time.strftime("%Y-%m-%d")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(out, indent=1))
    _plot(out, truth, latency, RESULT.with_suffix(".png"))
    print(f"wrote {RESULT}", flush=True)


def _front(latency: np.ndarray, acc: np.ndarray) -> list[int]:
    """Indices of the placements no other one beats on both latency (lower) and accuracy (higher)."""
    order = np.lexsort((-acc, latency))
    best, keep = -np.inf, []
    for i in order:
        if acc[i] > best:
            keep.append(int(i))
            best = acc[i]
    return keep


def _plot(out: dict, truth: np.ndarray, latency: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.5))
    for m, r in out["runs"].items():
        acc = np.array(list(r["accuracy"].values()))
        a.scatter(truth, acc, s=14, label=f"M={m} (tau {r['kendall_tau']:.2f})")
        b.scatter(latency, acc, s=14, label=f"M={m}")
        f = r["front"]
        b.plot([p["latency_ms"] for p in f], [p["supernet_acc"] for p in f], "-", lw=1)
    a.set_xlabel("stand-alone top-1 (%, published)")
    a.set_ylabel("supernet top-1 on held-out (%)")
    a.set_title("ranking of the 36 pooling placements")
    a.legend()
    b.set_xlabel("latency on this CPU (ms, batch 1)")
    b.set_ylabel("supernet top-1 (%)")
    b.set_title("accuracy / latency front")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("phase", choices=("train", "report"))
    p.add_argument("--members", type=int, nargs="+", default=[1, 4])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-images", type=int, default=10000)
    args = p.parse_args()
    if not DATA.is_file() or not PUBLISHED.is_file():
        print(f"needs {DATA} and {PUBLISHED}; skipped")
        return
    if args.phase == "train":
        if len(args.members) != 1:
            p.error("train one M per process: --members M")
        args.members = args.members[0]
        train(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
