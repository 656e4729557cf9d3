"""Why NAS-Bench-201's exact front is hard to recall: how many front cells are training-noise winners.

Two cells that differ only on edges off every input->output path compute the same function, but
NAS-Bench-201 trained each cell separately, so their accuracies differ by training noise, while the
measured latency still counts every op (dead ops run). For each accuracy/device pair this reports
how many exact-front cells share their live ops with other cells, and how wide the error spread is
inside those classes next to the typical error gap between neighbouring front cells. A front cell
whose class spreads wider than that gap is on the front partly by luck: no predictor can tell it
from its siblings, so a searcher recalls it only by evaluating siblings too.

Run: python benchmarks/nb201_front_structure.py [--pairs cifar10:raspi4 ...]
Writes benchmarks/results/nb201_front_structure.json. Needs ../shared/data/benchmarks/nas-bench-201.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nas.benchmark import NB201Table  # noqa: E402
from nas.benchmark.metrics import ExactFront  # noqa: E402
from nas.io import write_json  # noqa: E402

PAIRS = ["cifar10:raspi4", "cifar100:pixel3", "ImageNet16-120:eyeriss"]


def live_classes(table: NB201Table) -> np.ndarray:
    """A class id per cell: cells with the same ops on live edges (dead edges masked) share one."""
    space = table.space
    genomes = space.all_genomes()
    _, live = space.edge_status(genomes)
    masked = np.where(live, space.op_ids(genomes), -1) + 1  # -1 (dead) -> 0
    return np.unique(masked @ (6 ** np.arange(masked.shape[1])), return_inverse=True)[1]


def pair_report(table: NB201Table, dataset: str, device: str, classes: np.ndarray) -> dict:
    F = table.F(dataset, device)
    exact = ExactFront(F)
    sizes = np.bincount(classes)
    front = exact.cells[np.argsort(F[exact.cells, 1])]
    shared = front[sizes[classes[front]] > 1]
    spreads = np.array([np.ptp(F[classes == classes[c], 0]) for c in shared])
    gaps = np.abs(np.diff(F[front, 0]))
    return {
        "dataset": dataset, "device": device, "front_cells": int(len(front)),
        "front_cells_with_siblings": int(len(shared)),
        "sibling_class_sizes": sorted(int(s) for s in sizes[classes[shared]]),
        "median_error_spread_in_their_classes": float(np.median(spreads)) if len(spreads) else 0.0,
        "median_error_gap_between_neighbouring_front_cells": float(np.median(gaps)),
        "front_cells_whose_class_spread_exceeds_the_median_gap": int(np.sum(spreads > np.median(gaps))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", default=PAIRS, help="dataset:device pairs")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "nb201_front_structure.json")
    args = parser.parse_args()
    table = NB201Table()
    classes = live_classes(table)
    reports = [pair_report(table, *pair.split(":", 1), classes) for pair in args.pairs]
    for r in reports:
        spread, gap = r["median_error_spread_in_their_classes"], r["median_error_gap_between_neighbouring_front_cells"]
        print(f"{r['dataset']}/{r['device']}: {r['front_cells_with_siblings']} of {r['front_cells']} front cells have "
              f"live-equivalent siblings; error spread in their classes {spread:.2f} points (median) vs {gap:.2f} "
              f"between neighbouring front cells")
    write_json(args.out, {"benchmark": "nb201_front_structure", "live_classes": int(classes.max() + 1),
                          "pairs": reports})


if __name__ == "__main__":
    main()
