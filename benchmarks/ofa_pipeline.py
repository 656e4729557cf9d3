"""once-for-all's tutorial search pipeline against ours, same predictor, same Note10 latency tables.

Theirs: once-for-all's tutorial objects (``ofa.tutorial``): ``EvolutionFinder`` (population 100,
500 generations, parent ratio 0.25, mutation ratio 0.5, mutate prob 0.1: the tutorial notebook's
settings, which are also the class defaults), ``AccuracyPredictor`` (the 128-400-400-400-1 MLP, its
released ``acc_predictor.pth``) and ``LatencyTable`` / ``LatencyEstimator`` on the Note10 lookup
tables (resolutions 160..224). Their loaders download from GitHub and call ``yaml.load`` without a
Loader (refused by PyYAML 6), so the same local files are fed in instead: the predictor's state dict
loaded into their model, each table's dict set as their estimator's ``lut``. The reference package
imports only with a stub ``torchvision`` and ``gdown`` (as in ``tests/supernets/ofa_reference.py``). It is a
reference here, never a dependency.

Ours: ``nas.api.search`` on ``ofa-mbv3-w1.2`` (the space the predictor and the tables were made for;
the tables restrict it to r=160..224) with the tables imported by ``nas latency import-ofa``'s API
(``nas.hardware.latency_api.import_ofa``) and the predictor by ``nas predictor import-ofa``'s
(``predictors.ofa_import.import_ofa_predictor``, scale 100 -> %), constraint ``latency<=X ms``,
maximizing predicted accuracy, default searcher, at each ``--budgets`` value.

Each of their winners is re-scored with our imported predictor and table (and checked against their
own numbers); every best accuracy is quoted on our scale (top-1 %, the same MLP), latency in ms.
Constraints 15/20/25 ms (the tutorial's range), seeds 0..2. Wall time: their search call (setup, the
tables' YAML parse and predictor load, reported apart) vs our whole ``api.search`` call (which loads
the table and predictor itself). Evaluations: theirs counts accuracy predictions and latency queries
(rejection sampling included); ours counts evaluated (unique) subnets.

Needs ../shared/data (skips with a message otherwise). 1 torch thread; run under ``nice -n 10``.

Run: nice -n 10 python benchmarks/ofa_pipeline.py [--seeds 3] [--constraints 15 20 25] [--budgets 10000 50100]
Writes benchmarks/results/ofa_pipeline.json and benchmarks/results/ofa_pipeline.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
TABLES = DATA / "latency" / "ofa-note10"
PREDICTOR = DATA / "accuracy" / "ofa-predictor" / "acc_predictor.pth"
RESOLUTIONS = (160, 176, 192, 208, 224)
OUT = ROOT / "benchmarks" / "results"
# the tutorial notebook's settings (tutorial/ofa.ipynb; also EvolutionFinder's defaults)
THEIR_PARAMS = {"mutate_prob": 0.1, "mutation_ratio": 0.5, "parent_ratio": 0.25, "population_size": 100,
                "max_time_budget": 500}


def stub_torchvision() -> None:
    """Stub torchvision (and gdown, which ``ofa.tutorial`` pulls in through ``ofa.model_zoo`` for downloads only)."""
    if "gdown" not in sys.modules:
        try:
            import gdown  # noqa: F401
        except ImportError:
            sys.modules["gdown"] = types.ModuleType("gdown")
    sys.path.insert(0, str(ROOT))
    from tests.supernets.ofa_reference import stub_torchvision as stub

    stub()


class Counting:
    """Wraps their predictor / latency table to count calls."""

    def __init__(self, inner, method: str):
        self.inner, self.method, self.calls = inner, method, 0
        setattr(self, method, self._call)

    def _call(self, arg):
        self.calls += len(arg) if self.method == "predict_accuracy" else 1
        return getattr(self.inner, self.method)(arg)


def their_pipeline():
    """once-for-all's tutorial predictor and Note10 latency table, loaded from the local files."""
    import torch
    import yaml

    stub_torchvision()
    from ofa.tutorial import AccuracyPredictor, EvolutionFinder, LatencyTable
    from ofa.tutorial.latency_table import LatencyEstimator

    t0 = time.perf_counter()
    acc = AccuracyPredictor(pretrained=False, device="cpu")
    acc.model.load_state_dict(torch.load(PREDICTOR, map_location="cpu", weights_only=True))
    acc.model.eval()
    lat = LatencyTable.__new__(LatencyTable)  # its __init__ downloads; same tables, read from disk
    lat.latency_tables = {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for r in RESOLUTIONS:
        est = LatencyEstimator.__new__(LatencyEstimator)
        with open(TABLES / f"note10__{r}_lookup_table.yaml") as fp:
            est.lut = yaml.load(fp, Loader=loader)
        lat.latency_tables[r] = est
    return EvolutionFinder, acc, lat, time.perf_counter() - t0


def run_theirs(EvolutionFinder, acc, lat, constraint: float, seed: int) -> dict:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    acc_c, lat_c = Counting(acc, "predict_accuracy"), Counting(lat, "predict_efficiency")
    finder = EvolutionFinder("note10", constraint, lat_c, acc_c, **THEIR_PARAMS)
    t0 = time.perf_counter()
    _, (best_acc, best, best_lat) = finder.run_evolution_search(verbose=False)
    wall = time.perf_counter() - t0
    arch = {"ks": list(best["ks"]), "e": list(best["e"]), "d": list(best["d"]), "r": int(best["r"][0])}
    return {"pipeline": "once-for-all", "constraint_ms": constraint, "seed": seed, "wall_s": wall,
            "their_accuracy": float(best_acc), "their_latency_ms": float(best_lat), "arch": arch,
            "accuracy_predictions": acc_c.calls, "latency_queries": lat_c.calls}


def rescore(problem, archs: list[dict]) -> dict[str, np.ndarray]:
    genomes = problem.space.encode_many(archs)
    return problem.evaluator.evaluate(genomes)


def run_ours(table: str, predictor: str, constraint: float, seed: int, budget: int) -> dict:
    from nas import api

    t0 = time.perf_counter()
    res = api.search("ofa-mbv3-w1.2", table, constraints=[f"latency<={constraint:g}ms"], predictor=predictor,
                     seed=seed, budget=budget)
    wall = time.perf_counter() - t0
    best = res.best["best"]
    return {"pipeline": "ours", "constraint_ms": constraint, "seed": seed, "budget": budget, "wall_s": wall,
            "search_s": res.elapsed_s, "accuracy": float(best["values"]["accuracy"]),
            "latency_ms": float(best["values"]["latency"]), "arch": best["arch"], "evaluated": res.evaluated,
            "searcher": res.searcher, "generations": res.generations, "space": res.space}


def med(xs):
    return float(np.median(xs)) if len(xs) else None


def plot(summary: list[dict], constraints: list[float], budgets: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    labels = ["once-for-all"] + [f"ours (budget {b:,})" for b in budgets]
    x = np.arange(len(constraints))
    width = 0.8 / len(labels)
    for i, label in enumerate(labels):
        rows = [next(s for s in summary if s["pipeline"] == label and s["constraint_ms"] == c) for c in constraints]
        accs = [r["median_accuracy"] for r in rows]
        lo = [r["median_accuracy"] - r["min_accuracy"] for r in rows]
        hi = [r["max_accuracy"] - r["median_accuracy"] for r in rows]
        ax1.errorbar(constraints, accs, yerr=[lo, hi], marker="o", capsize=3, label=label)
        ax2.bar(x + (i - (len(labels) - 1) / 2) * width, [r["median_wall_s"] for r in rows], width, label=label)
    ax1.set_xlabel("Note10 latency constraint (ms)")
    ax1.set_ylabel("best predicted top-1 (%), median over seeds (min-max)")
    ax1.set_xticks(constraints)
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3)
    ax2.set_xticks(x, [f"<= {c:g} ms" for c in constraints])
    ax2.set_ylabel("wall time per search (s), median")
    ax2.set_yscale("log")
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3, axis="y")
    fig.suptitle("once-for-all tutorial pipeline vs ours: same predictor, same Note10 tables")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--constraints", type=float, nargs="+", default=[15.0, 20.0, 25.0])
    ap.add_argument("--budgets", type=int, nargs="+", default=[10_000, 50_100],
                    help="our budgets (10,000 is the default; 50,100 = their accuracy predictions)")
    ap.add_argument("--out", type=Path, default=OUT / "ofa_pipeline.json")
    args = ap.parse_args()
    missing = [p for p in [PREDICTOR, *(TABLES / f"note10__{r}_lookup_table.yaml" for r in RESOLUTIONS)]
               if not p.is_file()]
    if missing:
        print(f"skipping: needs once-for-all's Note10 tables and predictor in ../shared/data ({missing[0]} is absent)")
        return 0
    stub_torchvision()
    try:
        import ofa.tutorial  # noqa: F401
    except ImportError as exc:
        print(f"skipping: once-for-all's reference package is not importable ({exc}); pip install --no-deps ofa")
        return 0
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(ROOT))
    from nas.hardware.latency_api import import_ofa
    from nas.search.assemble import build_problem
    from predictors.ofa_import import import_ofa_predictor

    load_start = os.getloadavg()
    t_all = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="ofa_pipeline_"))
    t0 = time.perf_counter()
    table = str(tmp / "note10.csv")
    imported = import_ofa(TABLES, "note10", out=table)
    model = import_ofa_predictor(PREDICTOR, "ofa-mbv3-w1.2", 100.0)
    predictor = str(model.save(tmp / "ofa_pred"))
    import_s = time.perf_counter() - t0
    print(f"imported {imported['ops']} ops ({imported['resolutions']}) and the predictor "
          f"(max |ours - torch| {model.metadata['conversion']['max_abs_diff_vs_torch']:.1e}) in {import_s:.1f} s")

    EvolutionFinder, acc, lat, their_setup_s = their_pipeline()
    print(f"their predictor + 5 YAML tables loaded in {their_setup_s:.1f} s")

    runs = []
    problems = {}
    for c in args.constraints:
        problems[c] = build_problem("ofa-mbv3-w1.2", table, [f"latency<={c:g}ms"], predictor)
        for seed in range(args.seeds):
            r = run_theirs(EvolutionFinder, acc, lat, c, seed)
            v = rescore(problems[c], [r["arch"]])
            r["accuracy"] = float(v["accuracy"][0])  # ours, in %
            r["latency_ms"] = float(v["latency"][0])
            r["accuracy_diff_pts"] = r["accuracy"] - 100 * r["their_accuracy"]
            r["latency_diff_ms"] = r["latency_ms"] - r["their_latency_ms"]
            runs.append(r)
            print(f"theirs <= {c:g} ms seed {seed}: {r['accuracy']:.3f} % @ {r['latency_ms']:.3f} ms, "
                  f"{r['wall_s']:.1f} s, {r['accuracy_predictions']} acc / {r['latency_queries']} latency evals "
                  f"(re-scored: d acc {r['accuracy_diff_pts']:+.1e} pts, d lat {r['latency_diff_ms']:+.1e} ms)",
                  flush=True)
            for budget in args.budgets:
                o = run_ours(table, predictor, c, seed, budget)
                runs.append(o)
                print(f"ours   <= {c:g} ms seed {seed} budget {budget}: {o['accuracy']:.3f} % @ "
                      f"{o['latency_ms']:.3f} ms, {o['wall_s']:.1f} s, {o['evaluated']} subnets ({o['searcher']})",
                      flush=True)

    summary = []
    labels = [("once-for-all", None)] + [(f"ours (budget {b:,})", b) for b in args.budgets]
    for c in args.constraints:
        for label, b in labels:
            rs = [r for r in runs if r["constraint_ms"] == c and
                  (r["pipeline"] == "once-for-all" if b is None else r["pipeline"] == "ours" and r["budget"] == b)]
            accs = [r["accuracy"] for r in rs]
            s = {"pipeline": label, "constraint_ms": c, "median_accuracy": med(accs), "min_accuracy": min(accs),
                 "max_accuracy": max(accs), "median_latency_ms": med([r["latency_ms"] for r in rs]),
                 "median_wall_s": med([r["wall_s"] for r in rs]),
                 "median_evaluations": med([r.get("evaluated", r.get("accuracy_predictions")) for r in rs])}
            if b is None:
                s["median_latency_queries"] = med([r["latency_queries"] for r in rs])
                s["max_abs_accuracy_diff_pts"] = max(abs(r["accuracy_diff_pts"]) for r in rs)
                s["max_abs_latency_diff_ms"] = max(abs(r["latency_diff_ms"]) for r in rs)
            summary.append(s)
    goals = {}
    for label, b in labels[1:]:
        per = {}
        for c in args.constraints:
            th = next(s for s in summary if s["pipeline"] == "once-for-all" and s["constraint_ms"] == c)
            us = next(s for s in summary if s["pipeline"] == label and s["constraint_ms"] == c)
            ours_runs = [r for r in runs if r["pipeline"] == "ours" and r["budget"] == b and r["constraint_ms"] == c]
            their_runs = [r for r in runs if r["pipeline"] == "once-for-all" and r["constraint_ms"] == c]
            per[f"{c:g}"] = {
                "accuracy_gain_pts": us["median_accuracy"] - th["median_accuracy"],
                "accuracy_ok": us["median_accuracy"] >= th["median_accuracy"] - 1e-9,
                "seeds_ours_ge_theirs": sum(o["accuracy"] >= t["accuracy"] - 1e-9
                                            for o, t in zip(ours_runs, their_runs)),
                "wall_ratio_ours_over_theirs": us["median_wall_s"] / th["median_wall_s"],
                "wall_ok": us["median_wall_s"] < th["median_wall_s"]}
        goals[label] = per
    total = time.perf_counter() - t_all
    result = {
        "benchmark": "ofa_pipeline",
        "settings": {"their_finder": "ofa.tutorial.EvolutionFinder", "their_params": THEIR_PARAMS,
                     "their_predictor": "ofa.tutorial.AccuracyPredictor + acc_predictor.pth",
                     "their_latency": "ofa.tutorial.LatencyTable (LatencyEstimator per resolution), local YAMLs",
                     "our_space": "ofa-mbv3-w1.2 (restricted by the tables to r=160..224)",
                     "our_searcher": "default (auto choice)", "our_budgets": args.budgets,
                     "constraints_ms": args.constraints, "seeds": list(range(args.seeds)), "torch_threads": 1,
                     "nice": os.nice(0), "python": platform.python_version(), "torch": torch.__version__,
                     "cpu_count": os.cpu_count(), "tables": str(TABLES), "predictor": str(PREDICTOR),
                     "accuracy_scale": "top-1 % (once-for-all's fraction x 100)"},
        "setup_s": {"ours_import": import_s, "theirs_load": their_setup_s},
        "loadavg_start": load_start, "loadavg_end": os.getloadavg(), "wall_s": total,
        "summary": summary, "goals": goals, "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    plot(summary, args.constraints, args.budgets, args.out.with_suffix(".png"))
    for s in summary:
        print(json.dumps(s))
    print(json.dumps(goals, indent=1))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')} in {total:.0f} s; load {load_start} -> "
          f"{result['loadavg_end']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
