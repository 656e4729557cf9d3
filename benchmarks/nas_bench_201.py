"""NAS-Bench-201: every searcher against the exact Pareto front, on several accuracy/device pairs.

For each pair, each searcher runs ``--seeds`` times with a budget of ``--budget`` unique cells and is
scored by the region hypervolume ratio (reference point: best exact-front error + 15 points, 1.1 x the
largest latency among exact-front cells within that error), the recall of the exact front and IGD+
(pymoo); mean and worst over seeds. Random search is the baseline row. Same code as
``nas benchmark nas-bench-201``. Needs ../shared/data/benchmarks/nas-bench-201.

Run: python benchmarks/nas_bench_201.py [--budget 300] [--seeds 5] [--pairs cifar10:raspi4 ...]
Writes benchmarks/results/nas_bench_201.json and nas_bench_201.png.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nas.benchmark import NB201Table, run_nb201  # noqa: E402
from nas.benchmark.plot import plot_nb201  # noqa: E402
from nas.io import write_json  # noqa: E402

PAIRS = ["cifar10:raspi4", "cifar100:pixel3", "ImageNet16-120:eyeriss"]
GOAL = {"hv_ratio": 0.995, "recall": 0.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--pairs", nargs="+", default=PAIRS, help="dataset:device pairs")
    parser.add_argument("--searchers", nargs="+", default=["all"])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "nas_bench_201.json")
    args = parser.parse_args()
    table = NB201Table()
    results = []
    for pair in args.pairs:
        dataset, device = pair.split(":")
        start = time.perf_counter()
        res = run_nb201(dataset, device, searchers=args.searchers, budget=args.budget, seeds=args.seeds, table=table)
        res["seconds"] = round(time.perf_counter() - start, 1)
        best = max(res["searchers"], key=lambda n: res["searchers"][n]["worst"]["hv_ratio"])
        w = res["searchers"][best]["worst"]
        res["best_searcher"] = best
        res["goal_met"] = bool(w["hv_ratio"] >= GOAL["hv_ratio"] and w["recall"] >= GOAL["recall"])
        results.append(res)
        for name, s in res["searchers"].items():
            print(f"{dataset:>15} {device:>10} {name:>10}: HV ratio mean {s['mean']['hv_ratio']:.4f} worst "
                  f"{s['worst']['hv_ratio']:.4f} | recall mean {s['mean']['recall']:.1%} worst "
                  f"{s['worst']['recall']:.1%} | IGD+ mean {s['mean']['igd_plus']:.4f}", flush=True)
    write_json(args.out, {"benchmark": "nas_bench_201", "budget": args.budget, "seeds": args.seeds, "goal": GOAL,
                          "machine": {"python": platform.python_version(), "processor": platform.machine()},
                          "table": str(table.path.name), "results": results})
    plot_nb201(results, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
