"""Search speed with a predictor objective and a latency table target on ofa-mbv3 (r=224).

Objectives: predicted ImageNet top-1 (a small MLP fitted here, distilled from the shipped predictor's
predictions when it exists, else from MACs) and the ``jetson`` latency target. Measures, medians
over rounds, 2 threads:

* evaluation throughput: the vectorized Evaluator on a batch vs a per-arch Python loop (the same
  objectives called one subnet at a time, as a per-arch search does), same run;
* search throughput: unique subnets evaluated per second by evolution and NSGA-II with large
  populations, everything included (ask, dedup, evaluate, tell);
* once-for-all's evolution finder: population 100 x 500 generations, accuracy under a latency
  constraint (rejection sampling), wall time.

Run: python benchmarks/search_speed.py [--rounds 3] [--budget 100000]
Writes benchmarks/results/search_speed.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nas.hardware import get_target  # noqa: E402
from nas.io import write_json  # noqa: E402
from nas.search._searcher import create_searcher  # noqa: E402
from nas.search.assemble import accuracy_objective  # noqa: E402
from nas.search.constraints import parse_constraint  # noqa: E402
from nas.search.evaluator import Evaluator  # noqa: E402
from nas.search.objectives import cost_objective  # noqa: E402
from nas.search.run import run_search  # noqa: E402
from predictors import PREDICTORS  # noqa: E402
from predictors.shipped import shipped_predictor  # noqa: E402
from search_spaces import get_space  # noqa: E402


def median_s(fn, rounds: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def small_mlp(space):
    rng = np.random.default_rng(0)
    genomes = space.sample(2000, rng)
    teacher = shipped_predictor(get_space("ofa-mbv3"))
    if teacher is not None and teacher.space.name == space.name:
        y, label = teacher.predict(genomes), f"distilled from the shipped {teacher.kind} predictor"
    else:
        y, label = 70 + 5 * np.log(space.count(genomes)["macs"] / 1e8), "fitted to 70 + 5 ln(MACs / 1e8)"
    model = PREDICTORS.get("mlp")(space, hidden=(64, 64), epochs=40).fit(genomes, y)
    return model, label


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--n", type=int, default=100_000, help="batch size of the evaluation throughput")
    p.add_argument("--loop-n", type=int, default=1_000)
    p.add_argument("--budget", type=int, default=100_000, help="unique subnets per throughput search")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "search_speed.json")
    args = p.parse_args()
    torch.set_num_threads(2)
    space = get_space("ofa-mbv3[r=224]")
    mlp, label = small_mlp(space)
    latency = cost_objective(get_target("jetson", space))
    evaluator = Evaluator(space, [accuracy_objective(mlp, "benchmark"), latency])
    genomes = space.sample(args.n, np.random.default_rng(1))

    batch_s, _ = median_s(lambda: evaluator.evaluate(genomes), args.rounds)
    loop = genomes[: args.loop_n]
    loop_s, _ = median_s(lambda: [evaluator.evaluate(loop[i:i + 1]) for i in range(len(loop))], args.rounds)
    evaluation = {"batch": args.n, "vectorized_per_s": args.n / batch_s, "loop_n": args.loop_n,
                  "per_arch_loop_per_s": args.loop_n / loop_s, "speedup": (args.n / batch_s) / (args.loop_n / loop_s)}
    print(f"evaluation: {evaluation['vectorized_per_s']:,.0f}/s vectorized vs "
          f"{evaluation['per_arch_loop_per_s']:,.0f}/s per-arch loop ({evaluation['speedup']:.0f}x)", flush=True)

    searches = {}
    for name, options in (("evolution", {"population": 10_000}), ("nsga2", {"population": 10_000})):
        def run(name=name, options=options):
            searcher = create_searcher(name, space, n_objectives=2, seed=0, **options)
            return run_search(space, evaluator, searcher, budget=args.budget, stall_generations=5)
        seconds, outcome = median_s(run, args.rounds)
        searches[name] = {"options": options, "unique_subnets": len(outcome.archive),
                          "generations": outcome.generations, "seconds": seconds,
                          "unique_per_s": len(outcome.archive) / seconds}
        print(f"{name}: {len(outcome.archive):,} unique subnets in {seconds:.2f} s = "
              f"{len(outcome.archive) / seconds:,.0f}/s", flush=True)

    bound = float(np.percentile(latency(genomes[:10_000]), 25))
    constrained = Evaluator(space, [evaluator.objectives[0]], [latency], [parse_constraint(f"latency<={bound:.3f}ms")])

    def ofa_finder():
        searcher = create_searcher("evolution", space, n_objectives=1, seed=0, preset="once-for-all",
                                   is_feasible=constrained.is_feasible)
        return run_search(space, constrained, searcher, budget=10**9, max_generations=500, stall_generations=10**9)

    ofa_s, outcome = median_s(ofa_finder, args.rounds)
    asked = 100 + 499 * 75  # once-for-all evaluates every child, repeats included
    finder = {"population": 100, "generations": outcome.generations, "latency_bound_ms": round(bound, 3),
              "seconds": ofa_s, "unique_subnets": len(outcome.archive),
              "per_arch_loop_estimate_s": asked / evaluation["per_arch_loop_per_s"],
              "best_accuracy": float(outcome.archive.values["accuracy"].max())}
    print(f"once-for-all finder (100 x 500, latency<={bound:.3f} ms): {ofa_s:.2f} s "
          f"(a per-arch loop would need ~{finder['per_arch_loop_estimate_s']:.0f} s for its evaluations alone)")
    write_json(args.out, {
        "benchmark": "search_speed", "space": space.name, "accuracy": f"mlp 64-64, {label}",
        "latency": "jetson target", "threads": 2, "rounds": args.rounds, "statistic": "median",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "processor": platform.machine()},
        "evaluation": evaluation, "search": searches, "once_for_all_finder": finder,
        "goal": {"subnets_per_s": 100_000},
    })
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
