"""Diagnosis for ``bms_ranking.py``: every member of a trained mixture scores every pooling placement,
so a short schedule's ranking can be split into what the assignment costs and what the members know.

Reports, against the published stand-alone accuracies: Kendall tau of each member alone over the 36
placements, of the assigned member (what ``nas evaluate`` uses), and of the best member per placement
(an oracle assignment). Run after ``bms_ranking.py train --members M``:

    python benchmarks/bms_members.py --members 4 --epochs 15 [--eval-images 3000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import bms_ranking as bms  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=4)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--eval-images", type=int, default=3000)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    import torch
    from scipy.stats import kendalltau

    from nas.evaluate.accuracy import evaluate_archs
    from nas.evaluate.evalset import build_evalset
    from search_spaces.resnet20_pooling import PLACEMENTS, config_of
    from supernets.checkpoint import load_supernet

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    run = bms.run_dir(args.members, args.epochs)
    mixture, meta = load_supernet(run / "supernet.pt")
    archs = [{"pool": list(p)} for p in PLACEMENTS]
    truth = np.array([bms.published()[config_of(a["pool"])] for a in archs])
    evalset = build_evalset(bms.DATA, meta=meta, split="holdout", bn_images=2000, eval_images=args.eval_images,
                            n_classes=10)
    acc = np.stack([evaluate_archs(member, archs, evalset, 2000) for member in mixture.members], axis=1)
    assigned = mixture.assignment().argmax(axis=1)[mixture.arch_rows(archs)]
    rows = np.arange(len(archs))

    def tau(values: np.ndarray) -> float:
        return round(float(kendalltau(values, truth)[0]), 3)

    out = {"benchmark": "bms_members", "run": str(run.relative_to(ROOT)), "eval_images": args.eval_images,
           "tau_per_member": [tau(acc[:, m]) for m in range(acc.shape[1])],
           "mean_acc_per_member": acc.mean(axis=0).round(2).tolist(),
           "archs_assigned_per_member": np.bincount(assigned, minlength=acc.shape[1]).tolist(),
           "tau_assigned_member": tau(acc[rows, assigned]), "tau_best_member": tau(acc.max(axis=1)),
           "best_member_per_arch": acc.argmax(axis=1).tolist(), "accuracy": acc.round(2).tolist(),
           "elapsed_s": round(time.perf_counter() - start, 1), "date": time.strftime("%Y-%m-%d")}
    path = ROOT / "benchmarks" / "results" / f"bms_members_m{args.members}.json"
    path.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "accuracy"}, indent=1))


if __name__ == "__main__":
    main()
