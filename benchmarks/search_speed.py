"""Search speed with a predictor objective and a latency table target on ofa-mbv3 (r=224).

Objectives: predicted ImageNet top-1 (a small MLP fitted here, distilled from the shipped predictor's
predictions when it exists, else from MACs) and the ``jetson`` latency target. Measures, medians
over rounds, 2 threads:

* evaluation throughput: the vectorized Evaluator on a batch vs a per-arch Python loop (the same
  objectives called one subnet at a time, as a per-arch search does), same run;
* search throughput: unique subnets evaluated per second by evolution and NSGA-II with large
  populations through ``run_search`` (ask, dedup, evaluate, tell, archive), NSGA-II on both engines
  (arrays, the default, and pymoo's objects, one round);
* whole runs through ``nas.api.search(..., out=tmpdir)``: the same searches with a run directory
  (config, results.csv appended and state.json saved after every generation, the summary files at the
  end), with the seconds of each stage (ask, dedup, evaluate, archive, tell, results.csv rows, their
  append, state saves, summary); wall and CPU seconds both, with the load average (a shared machine's
  wall seconds overstate the cost, CPU seconds do not);
* once-for-all's evolution finder: population 100 x 500 generations, accuracy under a latency
  constraint (rejection sampling), wall time.

With ``--long N`` it measures instead what a long ``nas search --target macs --budget N`` costs as
its archive grows (NSGA-II, the shipped predictor, the CLI's progress status every 0.5 s, a run
directory): subnets/s over the first and the last 10% of the budget, resident memory per archived
subnet (RSS growth from 10% to 100% of the budget, and the archive's own arrays), the summary's time
and the run's peak RSS, results.csv's size, then a resume of the finished run (``--budget`` + 1%,
NSGA-II replayed) in a child process: its wall time and peak RSS.

With ``--fronts`` it also compares NSGA-II's two engines' fronts, 5 seeds each at the same budget: on
ofa-mbv3[r=224] with the objectives above (hypervolume of the evaluated set, normalized by a fixed
reference box), and on NAS-Bench-201 when its table exists (region hypervolume ratio against the exact
front, ``nas.benchmark``); mean and std per engine, and whether each seed's run was identical.
``--fronts-only`` measures only that and updates the results file's ``fronts``.

Run: python benchmarks/search_speed.py [--rounds 3] [--budget 100000] [--fronts | --fronts-only]
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
from nas.search.run import MAX_BUDGET, run_search  # noqa: E402
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


def _cpu(fn):
    start = time.process_time()
    fn()
    return time.process_time() - start


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


class StageClock:
    """Seconds (wall and CPU) spent in named methods while active: wraps them on their classes, restores them."""

    def __init__(self, targets: dict[str, tuple[object, str]]):
        self.targets = targets
        self.wall = dict.fromkeys(targets, 0.0)
        self.cpu = dict.fromkeys(targets, 0.0)
        self._saved: list[tuple[object, str, object]] = []
        self._depth = 0

    def __enter__(self):
        for label, (owner, name) in self.targets.items():
            original = getattr(owner, name)
            self._saved.append((owner, name, vars(owner).get(name, self)))  # self: not the owner's own
            setattr(owner, name, self._wrap(label, original))
        return self

    def _wrap(self, label, fn):
        clock = self

        def timed(*args, **kwargs):
            if clock._depth:  # a stage inside another stage counts for the outer one only
                return fn(*args, **kwargs)
            clock._depth += 1
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                clock.wall[label] += time.perf_counter() - wall
                clock.cpu[label] += time.process_time() - cpu
                clock._depth -= 1

        return timed

    def __exit__(self, *exc):
        for owner, name, original in reversed(self._saved):
            if original is self:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        self._saved.clear()


def api_run(name: str, options: dict, space, predictor, budget: int) -> dict:
    """One ``nas.api.search`` with a run directory, timed as a whole and by stage."""
    from nas import api
    from nas.results.csv_rows import RowFormatter
    from nas.results.run_dir import RunDirectory
    from nas.search import _searcher as searcher_module
    from nas.search.archive import Archive

    cls = searcher_module.SEARCHERS.get(name)
    stages = StageClock({
        "ask": (cls, "ask"), "tell": (cls, "tell"),
        "dedup (hash, look up)": (Archive, "keys"), "dedup (look up)": (Archive, "lookup"),
        "evaluate": (Evaluator, "evaluate"), "archive add": (Archive, "add"),
        "results.csv rows (format)": (RowFormatter, "lines"), "results.csv append (write, fsync)":
            (RunDirectory, "append_lines"), "state save": (RunDirectory, "save_state"),
        "summary (best.json, pareto.csv, plot)": (api, "_finish"),
    })
    work = Path(tempfile.mkdtemp(prefix="search_speed_api_"))
    try:
        with stages:
            wall, cpu = time.perf_counter(), time.process_time()
            result = api.search(space.name, "jetson", predictor=predictor, searcher=name, searcher_options=options,
                                budget=budget, out=work / "run")
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        n = len(result.archive) if getattr(result, "archive", None) is not None else budget
        csv_mb = (work / "run" / "results.csv").stat().st_size / 1e6
    finally:
        shutil.rmtree(work, ignore_errors=True)
    merged = {"dedup (hash, look up)": ("dedup (hash, look up)", "dedup (look up)")}
    stage_wall = {k: v for k, v in stages.wall.items() if k != "dedup (look up)"}
    stage_cpu = {k: v for k, v in stages.cpu.items() if k != "dedup (look up)"}
    for label, parts in merged.items():
        stage_wall[label] = sum(stages.wall[p] for p in parts)
        stage_cpu[label] = sum(stages.cpu[p] for p in parts)
    summary_wall = stage_wall["summary (best.json, pareto.csv, plot)"]
    stage_wall["other (loop, config, CLI-free setup)"] = wall - sum(stage_wall.values())
    stage_cpu["other (loop, config, CLI-free setup)"] = cpu - sum(stage_cpu.values())
    return {"options": options, "unique_subnets": n, "generations": result.generations, "seconds": wall,
            "cpu_seconds": cpu, "unique_per_s": n / wall, "unique_per_cpu_s": n / cpu,
            "without_summary_per_s": n / (wall - summary_wall), "results_csv_mb": round(csv_mb, 2),
            "stage_seconds": {k: round(v, 4) for k, v in stage_wall.items()},
            "stage_cpu_seconds": {k: round(v, 4) for k, v in stage_cpu.items()}}


def _hv_box(F: np.ndarray, ideal: np.ndarray, nadir: np.ndarray) -> float:
    from nas.search.pareto import hypervolume

    scaled = (F - ideal) / (nadir - ideal)
    return hypervolume(scaled, np.ones(F.shape[1]))


def fronts(space, evaluator, seeds: int = 5) -> dict:
    """NSGA-II on arrays vs on pymoo's objects: hypervolume over seeds at the same budget."""
    from nas.search.pareto import pareto_mask

    out: dict = {"seeds": list(range(seeds)), "engines": ["arrays", "pymoo"]}
    sample = evaluator.evaluate(space.sample(20_000, np.random.default_rng(123)))
    F_sample = evaluator.F(sample)
    ideal, nadir = F_sample.min(axis=0), F_sample.max(axis=0)  # a fixed box: HV of the evaluated set inside it
    cases = {}
    for label, population, budget in (("ofa-mbv3 population 100, 5,000 subnets", 100, 5_000),
                                      ("ofa-mbv3 population 10,000, 100,000 subnets", 10_000, 100_000)):
        per = {}
        archives = {}
        for engine in ("arrays", "pymoo"):
            hv, secs = [], []
            for seed in range(seeds):
                start = time.perf_counter()
                searcher = create_searcher("nsga2", space, n_objectives=2, seed=seed, population=population,
                                           engine=engine)
                outcome = run_search(space, evaluator, searcher, budget=budget)
                secs.append(time.perf_counter() - start)
                F = outcome.archive.F
                hv.append(_hv_box(F[pareto_mask(F)], ideal, nadir))
                archives[engine, seed] = outcome.archive.genomes
            per[engine] = {"hv_mean": float(np.mean(hv)), "hv_std": float(np.std(hv)), "hv": hv,
                           "seconds_mean": float(np.mean(secs))}
            print(f"fronts {label} {engine}: HV {np.mean(hv):.5f} +- {np.std(hv):.5f} "
                  f"({np.mean(secs):.1f} s a run)", flush=True)
        per["identical_runs"] = [bool(np.array_equal(archives["arrays", s], archives["pymoo", s]))
                                 for s in range(seeds)]
        cases[label] = {"population": population, "budget": budget, **per}
    out["ofa-mbv3[r=224]"] = {"objectives": evaluator.objective_names, "hv": "of the evaluated set's front, "
                              "objectives scaled to the box of 20,000 uniform subnets' F (ideal 0, nadir 1)",
                              "cases": cases}
    try:
        from nas.benchmark.metrics import ExactFront
        from nas.benchmark.nb201 import NB201Table
        table = NB201Table()
    except Exception as exc:  # the table is optional data
        out["nas-bench-201"] = {"skipped": str(exc).splitlines()[0]}
        return out
    nb = {}
    for dataset, device in (("cifar10", "raspi4"), ("cifar100", "pixel3"), ("ImageNet16-120", "eyeriss")):
        if device not in table.devices:
            continue
        exact = ExactFront(table.F(dataset, device))
        ev = Evaluator(table.space, table.objectives(dataset, device))
        pair = {}
        for budget in (300, 1000):
            per = {}
            cells = {}
            for engine in ("arrays", "pymoo"):
                ratios = []
                for seed in range(seeds):
                    searcher = create_searcher("nsga2", table.space, n_objectives=2, seed=seed, population=20,
                                               engine=engine)
                    outcome = run_search(table.space, ev, searcher, budget=budget)
                    cells[engine, seed] = table.space.cell_index(outcome.archive.genomes)
                    ratios.append(exact.score(cells[engine, seed])["hv_ratio"])
                per[engine] = {"hv_ratio_mean": float(np.mean(ratios)), "hv_ratio_std": float(np.std(ratios)),
                               "hv_ratio": ratios}
            per["identical_runs"] = [bool(np.array_equal(cells["arrays", s], cells["pymoo", s]))
                                     for s in range(seeds)]
            pair[str(budget)] = per
            print(f"fronts nas-bench-201 {dataset}/{device} {budget} cells: arrays "
                  f"{per['arrays']['hv_ratio_mean']:.4f} +- {per['arrays']['hv_ratio_std']:.4f}, pymoo "
                  f"{per['pymoo']['hv_ratio_mean']:.4f} +- {per['pymoo']['hv_ratio_std']:.4f}", flush=True)
        nb[f"{dataset}/{device}"] = pair
    out["nas-bench-201"] = {"population": 20, "score": "region hypervolume ratio (nas.benchmark.metrics)",
                            "pairs": nb}
    return out


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
    p.add_argument("--fronts", action="store_true", help="also compare NSGA-II's engines' fronts (5 seeds each)")
    p.add_argument("--fronts-only", action="store_true",
                   help="only compare the engines' fronts, updating the results file's 'fronts'")
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
    if args.fronts_only:
        doc = json.loads(args.out.read_text()) if args.out.exists() else {"benchmark": "search_speed"}
        doc["fronts"] = fronts(space, evaluator)
        write_json(args.out, doc)
        print(f"wrote {args.out}")
        return
    load_before = os.getloadavg()
    genomes = space.sample(args.n, np.random.default_rng(1))

    batch_s, _ = median_s(lambda: evaluator.evaluate(genomes), args.rounds)
    loop = genomes[: args.loop_n]
    loop_s, _ = median_s(lambda: [evaluator.evaluate(loop[i:i + 1]) for i in range(len(loop))], args.rounds)
    evaluation = {"batch": args.n, "vectorized_per_s": args.n / batch_s, "loop_n": args.loop_n,
                  "per_arch_loop_per_s": args.loop_n / loop_s, "speedup": (args.n / batch_s) / (args.loop_n / loop_s)}
    print(f"evaluation: {evaluation['vectorized_per_s']:,.0f}/s vectorized vs "
          f"{evaluation['per_arch_loop_per_s']:,.0f}/s per-arch loop ({evaluation['speedup']:.0f}x)", flush=True)

    cpu_s = statistics.median(_cpu(lambda: evaluator.evaluate(genomes)) for _ in range(args.rounds))
    evaluation["vectorized_per_cpu_s"] = args.n / cpu_s

    searches = {}
    for label, name, options, rounds in (
            ("evolution", "evolution", {"population": 10_000}, args.rounds),
            ("nsga2", "nsga2", {"population": 10_000}, args.rounds),
            ("nsga2 (engine=pymoo)", "nsga2", {"population": 10_000, "engine": "pymoo"}, 1)):
        def run(name=name, options=options):
            searcher = create_searcher(name, space, n_objectives=2, seed=0, **options)
            cpu = time.process_time()
            outcome = run_search(space, evaluator, searcher, budget=args.budget, stall_generations=5)
            return outcome, time.process_time() - cpu
        seconds, (outcome, cpu) = median_s(run, rounds)
        searches[label] = {"options": options, "unique_subnets": len(outcome.archive),
                           "generations": outcome.generations, "seconds": seconds, "cpu_seconds_last_round": cpu,
                           "rounds": rounds, "unique_per_s": len(outcome.archive) / seconds,
                           "unique_per_cpu_s": len(outcome.archive) / cpu}
        print(f"{label}: {len(outcome.archive):,} unique subnets in {seconds:.2f} s = "
              f"{len(outcome.archive) / seconds:,.0f}/s ({len(outcome.archive) / cpu:,.0f} per CPU s)", flush=True)

    whole_runs = {}
    for name in ("evolution", "nsga2"):
        run = api_run(name, {"population": 10_000}, space, mlp, args.budget)
        whole_runs[name] = run
        print(f"api.search {name} with a run directory: {run['unique_subnets']:,} in {run['seconds']:.2f} s = "
              f"{run['unique_per_s']:,.0f}/s ({run['unique_per_cpu_s']:,.0f} per CPU s); stages: "
              + ", ".join(f"{k} {v:.2f}" for k, v in run["stage_seconds"].items()), flush=True)

    bound = float(np.percentile(latency(genomes[:10_000]), 25))
    constrained = Evaluator(space, [evaluator.objectives[0]], [latency], [parse_constraint(f"latency<={bound:.3f}ms")])

    def ofa_finder():
        searcher = create_searcher("evolution", space, n_objectives=1, seed=0, preset="once-for-all",
                                   is_feasible=constrained.is_feasible)
        return run_search(space, constrained, searcher, budget=MAX_BUDGET, max_generations=500, stall_generations=10**9)

    ofa_s, outcome = median_s(ofa_finder, args.rounds)
    asked = 100 + 499 * 75  # once-for-all evaluates every child, repeats included
    finder = {"population": 100, "generations": outcome.generations, "latency_bound_ms": round(bound, 3),
              "seconds": ofa_s, "unique_subnets": len(outcome.archive),
              "per_arch_loop_estimate_s": asked / evaluation["per_arch_loop_per_s"],
              "best_accuracy": float(outcome.archive.values["accuracy"].max())}
    print(f"once-for-all finder (100 x 500, latency<={bound:.3f} ms): {ofa_s:.2f} s "
          f"(a per-arch loop would need ~{finder['per_arch_loop_estimate_s']:.0f} s for its evaluations alone)")
    doc = {
        "benchmark": "search_speed", "space": space.name, "accuracy": f"mlp 64-64, {label}",
        "latency": "jetson target", "threads": 2, "rounds": args.rounds, "statistic": "median",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "processor": platform.machine(),
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in os.getloadavg()]},
        "evaluation": evaluation, "search": searches, "api_search_with_run_dir": whole_runs,
        "once_for_all_finder": finder, "goal": {"subnets_per_s": 100_000},
    }
    if args.fronts:
        doc["fronts"] = fronts(space, evaluator)
    elif args.out.exists():  # keep a comparison measured before (--fronts-only)
        previous = json.loads(args.out.read_text())
        if "fronts" in previous:
            doc["fronts"] = previous["fronts"]
    write_json(args.out, doc)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
