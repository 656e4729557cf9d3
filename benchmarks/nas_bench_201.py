"""NAS-Bench-201: every searcher against the exact Pareto front, on several accuracy/device pairs.

For each pair, each searcher runs ``--seeds`` times with a budget of ``--budget`` unique cells and is
scored by the region hypervolume ratio (reference point: best exact-front error + 15 points, 1.1 x the
largest latency among exact-front cells within that error), the recall of the exact front and IGD+
(pymoo); mean and worst over seeds. Random search is the baseline row. Same code as
``nas benchmark nas-bench-201``. Needs ../shared/data/benchmarks/nas-bench-201.

``--pairs broad`` is twelve pairs the defaults were not first tuned on (``tuned`` is the three they were);
``--score-at 300`` also scores every run after its first 300 cells (exactly a 300-cell run: searchers
are not told the budget). With several pairs the JSON has ``aggregate``: per searcher and budget, the
mean over pairs, the spread (std, min-max), the worst pair and the worst run. The file is rewritten
after each pair, so an interrupted run keeps the pairs it finished (``--resume`` skips them).
``--combine A.json B.json ...`` merges runs of different searchers on the same pairs (e.g. the Bayesian
ones at 300 cells and fewer seeds) into ``--out`` and recomputes the aggregate.

Run: python benchmarks/nas_bench_201.py [--budget 300] [--seeds 5] [--pairs cifar10:raspi4 ... | broad]
Writes benchmarks/results/nas_bench_201.json and nas_bench_201.png (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nas.benchmark import NB201Table, run_pairs  # noqa: E402
from nas.benchmark.aggregate import aggregates  # noqa: E402
from nas.benchmark.pairs import PAIR_SETS, parse_pairs  # noqa: E402
from nas.benchmark.plot import plot_aggregate, plot_nb201  # noqa: E402
from nas.benchmark.runner import annotate  # noqa: E402
from nas.io import write_json  # noqa: E402
from search_spaces.errors import NasError  # noqa: E402

PAIRS = ["tuned"]
GOAL = {"hv_ratio": 0.995, "recall": 0.5}


def _options(items: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for item in items:
        key, _, value = item.partition("=")
        name, _, option = key.partition(".")
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
        out.setdefault(name, {})[option] = value
    return out


def _write(doc: dict, out: Path, plot: bool = True) -> None:
    write_json(out, doc)
    if plot and doc["results"]:
        if len(doc["results"]) <= 3:
            plot_nb201(doc["results"], out.with_suffix(".png"))
        else:
            plot_aggregate(doc, out.with_suffix(".png"))


def print_aggregate(doc: dict) -> None:
    for budget, per in doc.get("aggregate", {}).items():
        print(f"--- aggregate over pairs at {budget} cells")
        for name, a in per.items():
            h, r = a["hv_ratio"], a["recall"]
            print(f"{name:>10}: HV ratio mean {h['mean']:.4f} (std {h['std']:.4f}, pairs {h['min']:.4f}-"
                  f"{h['max']:.4f}, worst pair {h['worst_pair']}, worst run {h['worst_run']:.4f}) | recall mean "
                  f"{r['mean']:.1%} "
                  f"worst pair {r['worst_pair_mean']:.1%} | IGD+ {a['igd_plus']['mean']:.4f} | "
                  f"{a['pairs']} pairs, seeds {a['seeds']}, {a['seconds_per_run']:.2f} s/run", flush=True)


def combine(paths: list[Path], out: Path) -> dict:
    docs = [json.loads(p.read_text()) for p in paths]
    merged: dict[tuple, dict] = {}
    notes = []
    for doc in docs:
        notes.extend(doc.get("notes", []))
        for res in doc["results"]:
            key = (res["dataset"], res["device"])
            if key not in merged:
                merged[key] = {**res, "searchers": dict(res["searchers"]), "parts": []}
            else:
                merged[key]["searchers"].update(res["searchers"])
            merged[key]["parts"].append({"budget": res["budget"], "seeds": res["seeds"],
                                         "searchers": list(res["searchers"])})
    results = list(merged.values())
    annotate(results)
    base = {k: v for k, v in docs[0].items() if k not in ("aggregate", "aggregate_tuned", "matched")}
    doc = {**base, "results": results, "combined_from": [str(p) for p in paths],
           "notes": list(dict.fromkeys(notes)), **aggregates(results)}
    _write(doc, out)
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--score-at", type=int, nargs="*", default=[], help="also score at these smaller budgets")
    parser.add_argument("--seeds", type=int, default=5)
    sets = ", ".join(f"{k} ({len(v)} pairs)" for k, v in PAIR_SETS.items())
    parser.add_argument("--pairs", nargs="+", default=PAIRS, help=f"dataset:device pairs or a set: {sets}")
    parser.add_argument("--searchers", nargs="+", default=["all"])
    parser.add_argument("-o", "--option", action="append", default=[], help="searcher.key=value")
    parser.add_argument("--label", help="store the (one) searcher's results under this name, e.g. "
                        "'default@1000' for a second configuration of a searcher already in another file")
    parser.add_argument("--note", action="append", default=[], help="a sentence recorded in the JSON's notes")
    parser.add_argument("--resume", action="store_true", help="keep the pairs already in --out and run the rest")
    parser.add_argument("--combine", type=Path, nargs="+", help="merge these result files into --out")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "nas_bench_201.json")
    args = parser.parse_args()
    if args.combine:
        print_aggregate(combine(args.combine, args.out))
        print(f"wrote {args.out}")
        return
    try:
        table = NB201Table()
        pairs = parse_pairs(args.pairs, table)
    except NasError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)  # one line, exit code 2 as the CLI
        sys.exit(2)
    options = _options(args.option)
    header = {"benchmark": "nas_bench_201", "goal": GOAL, "options": options, "notes": args.note,
              "machine": {"python": platform.python_version(), "processor": platform.machine(),
                          "note": "2 cores shared with other processes: seconds are indicative"},
              "table": str(table.path.name)}
    done = json.loads(args.out.read_text())["results"] if args.resume and args.out.is_file() else []

    def report(doc: dict) -> None:
        res = doc["results"][-1]
        if args.label:
            (only,) = res["searchers"].values()
            res["searchers"] = {args.label: {**only, "searcher": args.searchers[0]}}
        best = max(res["searchers"], key=lambda n: res["searchers"][n]["worst"]["hv_ratio"])
        w = res["searchers"][best]["worst"]
        res["best_searcher"] = best
        res["goal_met"] = bool(w["hv_ratio"] >= GOAL["hv_ratio"] and w["recall"] >= GOAL["recall"])
        for name, s in res["searchers"].items():
            for b, sc in s.get("by_budget", {str(args.budget): s}).items():
                print(f"{res['dataset']:>15} {res['device']:>14} {name:>10} @{b:>5}: HV ratio mean "
                      f"{sc['mean']['hv_ratio']:.4f} worst {sc['worst']['hv_ratio']:.4f} | recall mean "
                      f"{sc['mean']['recall']:.1%} worst {sc['worst']['recall']:.1%} | IGD+ mean "
                      f"{sc['mean']['igd_plus']:.4f}", flush=True)
        _write({**header, **doc}, args.out, plot=False)

    doc = {**header, **run_pairs(pairs, searchers=args.searchers, budget=args.budget, seeds=args.seeds, table=table,
                                 options=options, score_at=args.score_at, on_pair=report, done=done)}
    _write(doc, args.out)
    print_aggregate(doc)
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
