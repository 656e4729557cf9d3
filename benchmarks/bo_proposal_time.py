"""Time per proposal of the Bayesian-optimization searchers (gp, botorch) as the evaluated history grows.

For each searcher and history size n (100, 1,000 and 3,000 evaluated subnets by default) a search starts
with n random subnets (``n_startup_trials=n``: the searcher's own initial design, cheap) and then asks for
``--asks`` Bayesian-optimization proposals, each timed whole (Optuna's bookkeeping, the GP fits on at most
``max_history`` subnets, the acquisition's maximization, the fresh-genome check); the median is reported
beside the first (a cold fit: no previous kernel parameters to start from). Random history instead of a
BO-driven one changes the cost little: it is set by the number of subnets the GPs are fitted on and the
candidates scored.

Problems:

* ``nb201``: NAS-Bench-201 (cifar10 accuracy and raspi4 latency from the table in ../shared/data): 15,625
  cells, so the acquisition scores every cell not evaluated yet (``acquisition_search=auto``);
* ``ofa``: ofa-mbv3[r=224] with the shipped accuracy predictor and the ``jetson`` latency target: 45 genes,
  the library's optimizer (Optuna's QMC + local search, BoTorch's multi-start L-BFGS).

``--uncapped`` also times each searcher fitted on its whole history at n=1,000 (gp, max_history=1000) or at
its largest allowed history (botorch, 500), which is what the default cap avoids; each row records the
process's peak resident memory so far. Other processes may share the cores: the load average before and after
each measurement is recorded.

A measurement still running after ``--row-timeout`` seconds (default 900) is stopped and recorded as such.

Run: python benchmarks/bo_proposal_time.py [--sizes 100 1000 3000] [--asks 5] [--problems nb201 ofa] [--uncapped]
Writes benchmarks/results/bo_proposal_time.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nas.io import write_json  # noqa: E402
from nas.search._searcher import SEARCHERS, create_searcher  # noqa: E402
from nas.search.run import run_search  # noqa: E402
from nas.search.searchers.bayesian import MAX_HISTORY  # noqa: E402


def problem(name: str):
    """(space, evaluator, label) or None when its data is missing."""
    if name == "nb201":
        from nas.benchmark.nb201 import NB201Table, default_table_path
        from nas.search.evaluator import Evaluator

        if not Path(default_table_path()).exists():
            return None
        table = NB201Table()
        return table.space, Evaluator(table.space, table.objectives("cifar10", "raspi4")), \
            "nas-bench-201: cifar10 accuracy, raspi4 latency (15,625 cells)"
    from nas.search.assemble import build_problem

    p = build_problem("ofa-mbv3[r=224]", "jetson")
    return p.space, p.evaluator, f"{p.space.name}: {', '.join(p.evaluator.metric_names)} (shipped predictor, jetson)"


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class RowTimeout(Exception):
    pass


def measure_within(seconds: int, *args) -> dict:
    """``measure(*args)``, or what it timed before ``seconds`` ran out (SIGALRM: torch returns to Python often)."""
    import signal

    def stop(signum, frame):
        raise RowTimeout

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    partial: list[float] = []
    try:
        return measure(*args, partial=partial)
    except RowTimeout:
        searcher, n = args[2], args[3]
        return {"searcher": searcher, "history": n, "fitted_on": None, "ask_s": [round(t, 3) for t in partial],
                "median_s": None, "first_s": None, "timed_out_after_s": seconds,
                "note": f"stopped after {seconds} s with {len(partial)} proposals done"}
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def measure(space, evaluator, searcher: str, n: int, asks: int, options: dict, partial: list | None = None) -> dict:
    s = create_searcher(searcher, space, n_objectives=len(evaluator.objectives), seed=0,
                        **{"n_startup_trials": n, **options})
    times: list[float] = partial if partial is not None else []
    ask = s.ask

    def timed():
        start = time.perf_counter()
        out = ask()
        if len(s.archive) >= n:  # the BO proposals, not the initial design
            times.append(time.perf_counter() - start)
        return out

    s.ask = timed
    before = load()
    start = time.perf_counter()
    run_search(space, evaluator, s, budget=n + asks * int(s.options["batch_size"]))
    wall = time.perf_counter() - start
    return {"searcher": searcher, "history": n, "fitted_on": min(n, int(s.options["max_history"])),
            "options": {k: v for k, v in s.options.items() if k not in ("storage", "study_name")},
            "ask_s": [round(t, 3) for t in times], "median_s": round(statistics.median(times), 3),
            "first_s": round(times[0], 3), "run_wall_s": round(wall, 1), "load_before": before, "load_after": load(),
            "peak_rss_gb_so_far": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 3000])
    parser.add_argument("--asks", type=int, default=5)
    parser.add_argument("--searchers", nargs="+", default=["gp", "botorch"])
    parser.add_argument("--problems", nargs="+", default=["nb201", "ofa"])
    parser.add_argument("--uncapped", action="store_true")
    parser.add_argument("--row-timeout", type=int, default=900, help="seconds per measurement before it is stopped")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bo_proposal_time.json")
    parser.add_argument("--keep", action="store_true", help="keep the rows --out holds and measure only the others")
    args = parser.parse_args()
    results: list[dict] = []
    if args.keep and args.out.exists():
        results = json.loads(args.out.read_text())["results"]
    done = {(r["problem"], r["searcher"], r["history"], bool(r.get("uncapped"))) for r in results}
    out = {"benchmark": "bo_proposal_time", "asks": args.asks,
           "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "processor": platform.machine(),
                       "note": "cores shared with other processes: see each row's load averages"},
           "defaults": {name: SEARCHERS.get(name).defaults for name in args.searchers}, "results": results}
    for pname in args.problems:
        built = problem(pname)
        if built is None:
            print(f"{pname}: data missing, skipped", flush=True)
            continue
        space, evaluator, label = built
        plan = [(name, n, {}) for name in args.searchers for n in args.sizes]
        if args.uncapped:
            plan += [(name, min(1000, MAX_HISTORY[name]), {"max_history": min(1000, MAX_HISTORY[name])})
                     for name in args.searchers]
        for name, n, options in plan:
            if (pname, name, n, bool(options)) in done:
                continue
            asks = args.asks if not options else max(1, min(args.asks, 2))
            before = load()
            row = {"problem": pname, "label": label,
                   **measure_within(args.row_timeout, space, evaluator, name, n, asks, options)}
            row["uncapped"] = bool(options)
            row.setdefault("load_before", before)
            row.setdefault("load_after", load())
            results.append(row)
            print(f"{pname} {name} n={n} fitted_on={row['fitted_on']}: median {row['median_s']} s per proposal "
                  f"(first {row['first_s']} s), load {row['load_before']} -> {row['load_after']}"
                  + (f" [{row['note']}]" if "note" in row else ""), flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            write_json(args.out, out)  # after every row: a long run killed midway keeps what it measured
    order = {p: i for i, p in enumerate(args.problems)}
    results.sort(key=lambda r: (order.get(r["problem"], 99), r["searcher"], bool(r.get("uncapped")), r["history"]))
    print(json.dumps({f"{r['problem']}/{r['searcher']}/n={r['history']}/fit={r['fitted_on']}": r["median_s"]
                      for r in results}, indent=1))
    write_json(args.out, out)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
