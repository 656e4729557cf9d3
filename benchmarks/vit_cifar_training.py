"""ViT-ResNAS on full CIFAR-10: the weight-sharing gap and the residual spatial-reduction ablation.

Seven runs of ``vit-resnas-cifar`` at one recipe (E epochs, batch 128, AdamW lr 1e-3 wd 0.05, label smoothing
0.1, 1 thread each, two runs at a time):
* ``supernet-residual``: the supernet, ``multi-arch`` with 4 archs per step (example_per_arch=32);
* ``supernet-plain``: the same on ``vit-resnas-cifar-plain`` (the plain spatial reduction; the same archs);
* ``standalone-sub{i}``: each of 5 fixed random subnets (seed 0) trained alone for the same epochs.
Then every network is measured the same way (BN recalibrated on 2,000 training images, top-1 on 2,000
held-out images of the 10% split): both supernets at their largest, smallest and the 5 subnets; each
stand-alone run at its own subnet. The gap is the supernet's top-1 minus the stand-alone top-1 per subnet.

Run: python benchmarks/vit_cifar_training.py [--train] [--epochs 2] [--runs runs/vit_cifar]
(--train trains the runs that are missing, in the background-friendly order above; hours on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nas.evaluate import evaluate_checkpoint  # noqa: E402
from nas.train import train  # noqa: E402
from search_spaces import get_space  # noqa: E402

SPACE = "vit-resnas-cifar"
PLAIN = "vit-resnas-cifar-plain"  # the ablation's network is a space of its own (its ops and costs are plain)
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "images" / "cifar10_jpg_60000.tar.gz"
RECIPE = {"batch_size": 128, "optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.05, "eval_images": 2000,
          "bn_images": 500}
N_SUBNETS = 5


def subnets() -> list[dict]:
    space = get_space(SPACE)
    return space.decode_many(space.sample(N_SUBNETS, np.random.default_rng(0)))


def runs() -> dict[str, dict]:
    out = {"supernet-residual": {"strategy": "multi-arch", "strategy_options": {"example_per_arch": 32}},
           "supernet-plain": {"space": PLAIN, "strategy": "multi-arch", "strategy_options": {"example_per_arch": 32}}}
    for i, arch in enumerate(subnets()):
        out[f"standalone-sub{i}"] = {"strategy": "standalone", "arch": arch}
    return out


def train_missing(root: Path, data: Path, epochs: int) -> None:
    for name, spec in runs().items():
        run = root / name
        if (run / "supernet.pt").exists():
            continue
        settings = {k: v for k, v in spec.items() if k not in ("space", "strategy")}
        if run.exists():
            train(resume=run, threads=1)
        else:
            train(spec.get("space", SPACE), spec["strategy"], data, epochs=epochs, out=run, threads=1, **RECIPE,
                  **settings)


def top1(checkpoint: Path, data: Path, archs: list[dict], extremes: bool = False) -> pd.DataFrame:
    res = evaluate_checkpoint(checkpoint, data, archs=archs, extremes=extremes, bn_images=2000, eval_images=2000)
    return res.table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=Path("runs/vit_cifar"))
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--train", action="store_true", help="train the runs that are missing first")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results") / "vit_cifar_training.json"))
    args = ap.parse_args()
    start, load_before = time.time(), " ".join(f"{v:.2f}" for v in os.getloadavg())
    if args.train:
        train_missing(args.runs, args.data, args.epochs)
    space = get_space(SPACE)
    subs = subnets()
    ids = [space.arch_id(a) for a in subs]
    largest, smallest = (space.arch_id(a) for a in space.extremes())
    result = {"benchmark": "vit_cifar_training", "space": SPACE, "plain_space": PLAIN, "epochs": args.epochs,
              "recipe": RECIPE,
              "measured_on": "2,000 held-out CIFAR-10 training images (BN recalibrated on 2,000)", "supernets": {}}
    for name in ("supernet-residual", "supernet-plain"):
        table = top1(args.runs / name / "supernet.pt", args.data, subs, extremes=True).set_index("arch_id")
        metrics = pd.read_csv(args.runs / name / "metrics.csv")
        result["supernets"][name] = {
            "largest": float(table.loc[largest, "accuracy"]), "smallest": float(table.loc[smallest, "accuracy"]),
            "subnets": [float(table.loc[i, "accuracy"]) for i in ids],
            "train_s": round(float(metrics["epoch_s"].sum()), 1)}
    alone = []
    for i, arch in enumerate(subs):
        run = args.runs / f"standalone-sub{i}"
        alone.append(float(top1(run / "supernet.pt", args.data, [arch])["accuracy"].iloc[0]))
    result["standalone"] = {"subnets": alone,
                            "macs": [int(m) for m in space.count(space.encode_many(subs))["macs"]],
                            "train_s": [round(float(pd.read_csv(args.runs / f"standalone-sub{i}" / "metrics.csv")
                                                    ["epoch_s"].sum()), 1) for i in range(len(subs))]}
    shared = result["supernets"]["supernet-residual"]["subnets"]
    plain = result["supernets"]["supernet-plain"]["subnets"]
    result["headline"] = {
        "weight_sharing_gap_median_points": round(statistics.median(s - a for s, a in zip(shared, alone)), 2),
        "residual_minus_plain_median_points": round(statistics.median(r - p for r, p in zip(shared, plain)), 2),
        "residual_largest": result["supernets"]["supernet-residual"]["largest"],
        "residual_smallest": result["supernets"]["supernet-residual"]["smallest"]}
    result["machine"] = {"uptime_before": load_before, "uptime_after": " ".join(f"{v:.2f}" for v in os.getloadavg()),
                         "note": "two runs at a time on 2 cores, 1 thread each, niced"}
    result["wall_s"] = round(time.time() - start, 1)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["headline"], indent=2))


if __name__ == "__main__":
    main()
