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

With ``--long N`` it measures instead what a long ``nas search --target macs --budget N`` costs as
its archive grows (NSGA-II, the shipped predictor, the CLI's progress status every 0.5 s, a run
directory): subnets/s over the first and the last 10% of the budget, resident memory per archived
subnet (RSS growth from 10% to 100% of the budget, and the archive's own arrays), the summary's time
and the run's peak RSS, results.csv's size, then a resume of the finished run (``--budget`` + 1%,
NSGA-II replayed) in a child process: its wall time and peak RSS.

Run: python benchmarks/search_speed.py [--rounds 3] [--budget 100000]
     python benchmarks/search_speed.py --long 1000000   (about 10 minutes on 2 cores)
Writes benchmarks/results/search_speed.json, or with --long benchmarks/results/search_speed_long.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
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


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def long_run(budget: int, out: Path) -> None:
    """Whole-run rate at the start vs the end of a long search, memory per archived subnet, summary and resume."""
    from nas import api
    from nas.cli._progress import SearchProgress

    work = Path(tempfile.mkdtemp(prefix="search_speed_long_"))
    run = work / "run"
    marks: list[tuple[int, float, int]] = []  # (archived subnets, wall s, RSS bytes) at every 5% of the budget
    bar = SearchProgress(budget, enabled=False)  # the CLI's progress callback: its status runs even when hidden
    step = max(1, budget // 20)
    archive_bytes: list[int] = []

    def on_generation(generation, archive, problem):
        bar(generation, archive, problem)
        n = len(archive)
        if n >= len(marks) * step or n >= budget:
            marks.append((n, time.perf_counter(), _rss_bytes()))
            if n >= budget and hasattr(archive, "nbytes"):
                archive_bytes.append(archive.nbytes)

    load_before = os.getloadavg()
    marks.append((0, time.perf_counter(), _rss_bytes()))
    api.search(None, "macs", budget=budget, out=run, on_generation=on_generation)
    finished = time.perf_counter()
    peak_run = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def rate(lo_frac: float, hi_frac: float) -> float:
        lo = min(marks, key=lambda m: abs(m[0] - lo_frac * budget))
        hi = min(marks, key=lambda m: abs(m[0] - hi_frac * budget))
        return (hi[0] - lo[0]) / (hi[1] - lo[1])

    at_10 = min(marks, key=lambda m: abs(m[0] - 0.1 * budget))
    end = marks[-1]
    growth = (end[2] - at_10[2]) / max(1, end[0] - at_10[0])
    csv_bytes = (run / "results.csv").stat().st_size

    resume_budget = budget + max(1, budget // 100)
    # the child reports its own high-water mark (VmHWM): ru_maxrss of children counts the parent's at fork
    code = ("import re, time; from nas import api; t = time.perf_counter(); "
            f"api.search(resume={str(run)!r}, budget={resume_budget}); "
            "hwm = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1); "
            "print(time.perf_counter() - t, int(hwm) * 1024)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"the resume failed: {done.stderr.strip().splitlines()[-1]}")
    resume_s, peak_resume = (float(v) for v in done.stdout.split()[-2:])
    result = {
        "benchmark": "search_speed_long", "command": f"nas search --target macs --budget {budget} (NSGA-II, shipped "
                                                     "predictor, run directory, the CLI's progress status)",
        "budget": budget,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "processor": platform.machine(),
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in os.getloadavg()]},
        "subnets_per_s": {"first_10pct": rate(0.0, 0.1), "last_10pct": rate(0.9, 1.0),
                          "whole_search": budget / (end[1] - marks[0][1]),
                          "per_5pct": [round((b[0] - a[0]) / (b[1] - a[1]), 1) for a, b in zip(marks, marks[1:])]},
        "memory": {"rss_growth_bytes_per_subnet": growth,
                   "archive_bytes_per_subnet": archive_bytes[0] / budget if archive_bytes else None,
                   "rss_at_10pct_mb": at_10[2] / 1e6, "rss_at_end_of_search_mb": end[2] / 1e6,
                   "peak_rss_run_mb": peak_run / 1e6},
        "summary_s": finished - end[1],
        "results_csv": {"mb": csv_bytes / 1e6, "bytes_per_row": csv_bytes / budget},
        "resume": {"budget": resume_budget, "wall_s": resume_s, "peak_rss_mb": peak_resume / 1e6},
    }
    shutil.rmtree(work, ignore_errors=True)
    write_json(out, result)
    print(json.dumps(result, indent=1))
    print(f"wrote {out}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--n", type=int, default=100_000, help="batch size of the evaluation throughput")
    p.add_argument("--loop-n", type=int, default=1_000)
    p.add_argument("--budget", type=int, default=100_000, help="unique subnets per throughput search")
    p.add_argument("--out", type=Path, default=None,
                   help="results file [default: benchmarks/results/search_speed.json, or search_speed_long.json "
                        "with --long]")
    p.add_argument("--long", type=int, default=0, metavar="N",
                   help="measure only a long run of N subnets: rate at its start vs its end, memory per subnet")
    args = p.parse_args()
    torch.set_num_threads(2)
    if args.long:
        long_run(args.long, args.out or ROOT / "benchmarks" / "results" / "search_speed_long.json")
        return
    args.out = args.out or ROOT / "benchmarks" / "results" / "search_speed.json"
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
