"""Mixed-precision joint search on ``S+q`` (``S``: the checkpoint's space): is searching the bits worth it,
and does LINAS need fewer measured subnets than NSGA-II? (issue 14, items 5 and 7)

On a trained ``resnet20-pooling`` checkpoint, or one of a restriction of it (it serves ``S+q``: each subnet
is quantized after extraction, PTQ, and measured on the held-out images, the engine's measured-accuracy
path), this

1. (a) runs NSGA-II over architecture + per-layer bits on accuracy x latency x size (``size``: MB with
   the weights at their widths; latency: ``--latency-target``, default ``macs``), then measures with the
   same evaluator (b) each front member's base architecture all-INT8 (``space.with_bits(arch, 8, 8)``)
   and (c) all-FP32 (32/32), and takes the fronts of (b) and (c);
2. for each point of (a), the best (b) / (c) point at most 0.3 points less accurate: the ratio of sizes
   and of latencies (medians and per point), against the goals (>= 2x smaller than all-INT8, never
   slower) and SimQ-NAS's anchor (3.44x size, 4.80x latency vs all-INT8);
3. runs LINAS (``-o predictor=dynast``: ridge or SVR per objective, as SimQ-NAS) on ``--budget-linas``
   measured subnets and compares the hypervolume of its front with NSGA-II's on ``--budget-nsga2``
   (and NSGA-II's first ``--budget-linas`` subnets), one common reference point;
4. writes ``benchmarks/results/quantized_search.json`` and ``.png``.

The searches' run directories live under ``--work``: run again after an interruption and each search
resumes with the engine's own resume (``nas search --resume``), finished ones are skipped, and the
fixed-bits measurements of (b)/(c) are kept in ``--work``/fixed_bits.json.

    nice -n 10 python benchmarks/quantized_search.py --checkpoint runs/r20_spos/supernet.pt \\
        --data ../shared/data/images/cifar10_jpg_60000.tar.gz --eval-images 500 --bn-images 64
    python benchmarks/quantized_search.py --quick --checkpoint C --data D     # tiny budgets, minutes

Cost: one measured subnet takes (1 thread, 2 cores shared with a training run, load 4 / 5.5) about
1.3 / 2.3 s at 64 BN + 250 eval images, 2.0 / ~3.5 s at 64 + 500, 1.5 / 2.7 s at 128 + 250, 2.5 / 3.8 s
at 128 + 500, and ~30 s at the engine's defaults (2,000 BN images, every held-out image); LINAS adds
~8 s a generation for its predictors and inner NSGA-II. The default budgets measure ~650 subnets.
Hypervolumes are in a box normalized per objective (ideal 0, span 1, reference 10% beyond the nadir
of the fronts compared), so MB, MACs and milliseconds weigh alike.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch loads: the machine is shared, one core each

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # quantized_search_report, however this file is run
sys.path.insert(0, str(ROOT))  # run from anywhere: the engine is the repository's
RESULTS = ROOT / "benchmarks" / "results"
TOLERANCE = 0.3  # accuracy points: "equal accuracy"
GOAL = {"size_vs_int8": 2.0, "latency_vs_int8": 1.0}  # >= 2x smaller than all-INT8, never slower
ANCHOR = {"source": "SimQ-NAS (mixed precision vs all-INT8 at equal accuracy)", "size_vs_int8": 3.44,
          "latency_vs_int8": 4.80}
# --quick: tiny budgets and image counts, so that a dev checkpoint finishes in a few minutes
QUICK = {"budget_nsga2": 24, "budget_linas": 12, "nsga2_population": 8, "linas_population": 4,
         "linas_inner_evals": 2000, "eval_images": 100, "bn_images": 32}
DEFAULTS = {"budget_nsga2": 400, "budget_linas": 200, "nsga2_population": 50, "linas_population": None,
            "linas_inner_evals": None, "eval_images": None, "bn_images": None}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit code 2, as the CLI's usage errors
        print(f"error: {' '.join(message.split())} (see --help)", file=sys.stderr)
        sys.exit(2)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def quantized_space_of(checkpoint: str | Path) -> str:
    """``S+q`` for the space ``S`` the checkpoint was trained on (``resnet20-pooling``, or a restriction of
    it such as the fine-tuned ``resnet20-pooling[pool=...]``), so the search samples only trained subnets."""
    from search_spaces.errors import InvalidInput
    from supernets.checkpoint import read_checkpoint

    ckpt = read_checkpoint(checkpoint)
    if not isinstance(ckpt.get("space"), str):
        raise InvalidInput(f"--checkpoint {checkpoint}: not a nas train checkpoint (it names no space)")
    return f"{ckpt['space']}+q"


def parse_args(argv) -> argparse.Namespace:
    ap = _Parser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True,
                    help="trained supernet (nas train); the search runs on its space + q")
    ap.add_argument("--data", required=True, help="its images (.npz, ImageFolder, .tar.gz)")
    ap.add_argument("--budget-nsga2", type=_positive, help="measured subnets of the NSGA-II search (400)")
    ap.add_argument("--budget-linas", type=_positive, help="measured subnets of the LINAS search (200)")
    ap.add_argument("--nsga2-population", type=_positive, help="NSGA-II population (50, DyNAS-T's)")
    ap.add_argument("--linas-population", type=_positive, help="LINAS population (default: the engine's "
                    "for measured accuracy)")
    ap.add_argument("--linas-predictor", default="dynast", help="LINAS predictor: dynast (the better of ridge "
                    "and SVR per objective), ridge or svr")
    ap.add_argument("--linas-inner-evals", type=_positive, help="LINAS inner-loop evaluations (engine default)")
    ap.add_argument("--eval-images", type=_positive, help="held-out images per measured subnet (default: all)")
    ap.add_argument("--bn-images", type=_positive, help="BN recalibration images per subnet (engine default; "
                    "PTQ calibrates on the first min(this, 512))")
    ap.add_argument("--latency-target", default="macs", help="target of the latency objective (macs, bitops, "
                    "or a bits-aware latency table)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, help="run directories (default runs/quantized_search[_quick])")
    ap.add_argument("--out", type=Path, help="result JSON; the PNG beside it (default "
                    "benchmarks/results/quantized_search[_quick].json)")
    ap.add_argument("--quick", action="store_true", help="tiny budgets: a few minutes on a dev checkpoint")
    args = ap.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    suffix = "_quick" if args.quick else ""  # a quick run never overwrites the real run's files
    args.work = args.work or ROOT / "runs" / f"quantized_search{suffix}"
    args.out = args.out or RESULTS / f"quantized_search{suffix}.json"
    if args.seed < 0:
        ap.error(f"--seed must be >= 0, got {args.seed}")
    return args


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------- searches
def run_search(name: str, searcher: str, budget: int, options: dict, args, common: dict, timings: dict) -> Path:
    """The run directory of one search, finished: skipped when already finished, resumed when interrupted."""
    from nas import api
    from nas.io import read_json

    run_dir = args.work / name
    config, best = run_dir / "config.json", run_dir / "best.json"
    if config.is_file():
        recorded = read_json(config)
        _check_recorded(run_dir, recorded, searcher, options, common)
        if best.is_file() and recorded.get("budget") == budget:
            _log(f"{name}: finished in {run_dir} ({read_json(best).get('evaluated')} subnets), skipped")
            return run_dir
    t0 = time.perf_counter()

    def progress(gen, archive, problem):
        _log(f"{name}: generation {gen}, {len(archive)}/{budget} subnets, {time.perf_counter() - t0:.0f} s")

    with _timed(timings, name, args.work):
        if config.is_file():
            _log(f"{name}: resuming {run_dir} (nas search --resume) to {budget} subnets")
            result = api.search(resume=run_dir, budget=budget, on_generation=progress)
        else:
            _log(f"{name}: {searcher} on {budget} measured subnets -> {run_dir}")
            result = api.search(common["space"], common["target"], searcher=searcher, searcher_options=options,
                                budget=budget, seed=args.seed, checkpoint=args.checkpoint, data=args.data,
                                measure_options=common["measure"], objectives=common["objectives"], out=run_dir,
                                on_generation=progress)
    _log(f"{name}: {result.evaluated} subnets, {len(result.pareto)} on the front, "
         f"{time.perf_counter() - t0:.0f} s this session")
    return run_dir


@contextlib.contextmanager
def _timed(timings: dict, name: str, work: Path):
    """Add this session's seconds to ``timings[name]`` (interrupted sessions too) in ``work/timings.json``."""
    from nas.io import write_json

    t0 = time.perf_counter()
    try:
        yield
    finally:
        entry = timings.setdefault(name, {"wall_s": 0.0, "sessions": 0})
        entry["wall_s"] += time.perf_counter() - t0
        entry["sessions"] += 1
        write_json(work / "timings.json", timings)


def _check_recorded(run_dir: Path, cfg: dict, searcher: str, options: dict, common: dict) -> None:
    """A work folder made with other settings is refused: resuming would silently keep the old ones."""
    from search_spaces.errors import InvalidInput

    measured = cfg.get("measured") or {}
    want = {"searcher": searcher, "target": common["target"], "objectives": common["objectives"],
            "measure options": common["measure"], "checkpoint": common["checkpoint"], "data": common["data"],
            "seed": common["seed"]}
    have = {"searcher": cfg.get("searcher"), "target": cfg.get("target"), "objectives": cfg.get("objectives"),
            "measure options": measured.get("options"), "checkpoint": measured.get("checkpoint"),
            "data": measured.get("data"), "seed": cfg.get("seed")}
    rec_options = cfg.get("searcher_options") or {}
    want["searcher options"] = options
    have["searcher options"] = {k: rec_options.get(k) for k in options}
    for key in want:
        if want[key] != have[key]:
            raise InvalidInput(f"{run_dir} was made with {key} {have[key]}, not {want[key]}: pass the same "
                               f"settings to resume it, or another --work for a new benchmark")


def read_points(run_dir: Path, file: str, latency_metric: str) -> list[dict]:
    """The subnets of a run file (pareto.csv or results.csv, in its order) as points: id, metrics, arch, bits."""
    df = pd.read_csv(run_dir / file)
    return [_point(r, latency_metric) for r in df.to_dict("records")]


def _point(row: dict, latency_metric: str) -> dict:
    arch = json.loads(row["config"])
    bits = {k: arch.pop(k) for k in ("wbits", "abits", "wmode")}
    return {"id": row["arch_id"], "accuracy": float(row["accuracy"]), "latency": float(row[latency_metric]),
            "size": float(row["size"]), "macs": float(row["macs"]), "arch": arch, **bits,
            "bits": _bits_summary(bits)}


def _bits_summary(bits: dict) -> str:
    """e.g. 'w4:7 w8:12 w32:3 | a8:20 a32:2 | asym:5': how many layers at each width (inactive ones at 32)."""
    w = " ".join(f"w{b}:{bits['wbits'].count(b)}" for b in (4, 8, 32) if b in bits["wbits"])
    a = " ".join(f"a{b}:{bits['abits'].count(b)}" for b in (8, 32) if b in bits["abits"])
    asym = sum(m == "asymmetric" and wb < 32 for m, wb in zip(bits["wmode"], bits["wbits"]))
    return f"{w} | {a} | asym:{asym}"


# ------------------------------------------------------------------ fixed bits (b), (c)
def measure_fixed(evaluator, space, base_archs: list[dict], work: Path, settings: dict, latency_metric: str,
                  timings: dict) -> dict[str, list[dict]]:
    """(b) all-INT8 and (c) all-FP32 of each base arch, measured by ``evaluator`` (the searches' objectives),
    cached in ``work/fixed_bits.json`` a few subnets at a time, so that an interruption loses little."""
    from nas.io import read_json, write_json

    cache_path = work / "fixed_bits.json"
    cache = read_json(cache_path) if cache_path.is_file() else {"settings": settings, "measured": {}}
    if cache.get("settings") != settings:
        from search_spaces.errors import InvalidInput

        raise InvalidInput(f"{cache_path} holds measurements made with other settings ({cache.get('settings')}); "
                           "pass the same settings, or another --work")
    kinds = {"int8": (8, 8), "fp32": (32, 32)}
    archs = {kind: [space.with_bits(a, w, b) for a in base_archs] for kind, (w, b) in kinds.items()}
    todo = [(kind, a) for kind in kinds for a in archs[kind]
            if space.arch_ids(space.encode(a)[None, :])[0] not in cache["measured"]]
    t0 = time.perf_counter()
    with _timed(timings, "fixed_bits", work) if todo else contextlib.nullcontext():
        for lo in range(0, len(todo), 4):
            chunk = todo[lo:lo + 4]
            genomes = np.stack([space.encode(a) for _, a in chunk])
            values = evaluator.evaluate(genomes)
            for i, (arch_id, (kind, arch)) in enumerate(zip(space.arch_ids(genomes), chunk)):
                cache["measured"][arch_id] = {"kind": kind, "config": json.dumps(arch), "arch_id": arch_id,
                                              **{m: float(v[i]) for m, v in values.items()}}
            write_json(cache_path, cache)
            _log(f"fixed bits: {lo + len(chunk)}/{len(todo)} measured, {time.perf_counter() - t0:.0f} s")
    out = {}
    for kind in kinds:
        ids = dict.fromkeys(space.arch_ids(np.stack([space.encode(a) for a in archs[kind]])))  # unique, in order
        out[kind] = [_point(cache["measured"][i], latency_metric) for i in ids]
    return out


# ------------------------------------------------------------------------------ main
def main(argv=None) -> int:
    from search_spaces.errors import NasError

    args = parse_args(argv)
    try:
        return run(args)
    except NasError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)  # one line, exit code 2 as the CLI
        return 2
    except OSError as exc:
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"error: cannot access{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run again with the same options to resume", file=sys.stderr)
        return 130


def run(args) -> int:
    import torch

    torch.set_num_threads(1)  # the machine has 2 cores and shares them with a training run
    import quantized_search_report as report

    from nas.evaluate.objective import measured_accuracy_objective
    from nas.io import read_json, write_json
    from nas.search.assemble import build_problem
    from search_spaces.errors import InvalidInput

    started, load_start = time.time(), os.getloadavg()
    measure = {k: getattr(args, k) for k in ("eval_images", "bn_images") if getattr(args, k) is not None}
    # the evaluator of (b)/(c), built first: it checks checkpoint, data and target before any search
    space_name = quantized_space_of(args.checkpoint)
    accuracy = measured_accuracy_objective(args.checkpoint, args.data, space=space_name, **measure)
    problem = build_problem(space_name, args.latency_target, objectives=None, accuracy=accuracy)
    latency_metric = problem.target.metric
    if latency_metric in ("accuracy", "size"):
        raise InvalidInput(f"--latency-target {args.latency_target} measures {latency_metric}, which is already an "
                           "objective; pass a latency target (macs, bitops or a latency table)")
    objectives = ["accuracy", latency_metric, "size"]
    problem = build_problem(space_name, args.latency_target, objectives=objectives, accuracy=accuracy)
    space = problem.space
    common = {"space": space_name, "target": args.latency_target, "objectives": objectives, "measure": measure,
              "seed": args.seed,
              "checkpoint": accuracy.metadata["checkpoint"],  # both as nas search records them: resolved paths
              "data": str(Path(args.data).resolve()) if Path(args.data).exists() else str(args.data)}
    args.work.mkdir(parents=True, exist_ok=True)
    timings = read_json(args.work / "timings.json") if (args.work / "timings.json").is_file() else {}
    _log(f"{space_name} on {accuracy.source}; objectives {objectives}; work {args.work}; load {load_start[0]:.1f}")

    nsga2_opts = {"population": args.nsga2_population}
    linas_opts = {"predictor": args.linas_predictor,
                  **({"population": args.linas_population} if args.linas_population else {}),
                  **({"inner_evals": args.linas_inner_evals} if args.linas_inner_evals else {})}
    nsga2_dir = run_search("nsga2", "nsga2", args.budget_nsga2, nsga2_opts, args, common, timings)
    linas_dir = run_search("linas", "linas", args.budget_linas, linas_opts, args, common, timings)

    # (a) the mixed-precision front, and the same base archs at fixed bits
    mixed_front = read_points(nsga2_dir, "pareto.csv", latency_metric)
    mixed_all = read_points(nsga2_dir, "results.csv", latency_metric)
    base_archs = list({json.dumps(p["arch"], sort_keys=True): p["arch"] for p in mixed_front}.values())
    fixed = measure_fixed(problem.evaluator, space, base_archs, args.work,
                          {"checkpoint": common["checkpoint"], "data": common["data"], "measure": measure,
                           "target": args.latency_target, "objectives": objectives}, latency_metric, timings)
    fronts = {"mixed": mixed_front, "int8": report.front(fixed["int8"]), "fp32": report.front(fixed["fp32"])}
    ratios = {f"mixed_vs_{k}": report.equal_accuracy_ratios(mixed_front, fixed[k], TOLERANCE)
              for k in ("int8", "fp32")}
    abc_ref = report.common_reference([fronts["mixed"], fixed["int8"], fixed["fp32"]])
    abc_hv = report.hypervolumes(fronts, abc_ref)

    # sample efficiency: LINAS at its budget vs NSGA-II at its own and at LINAS's (its first subnets)
    linas_front = read_points(linas_dir, "pareto.csv", latency_metric)
    nsga2_early = report.front(mixed_all[:args.budget_linas])
    hv_fronts = {f"linas@{args.budget_linas}": linas_front, f"nsga2@{args.budget_nsga2}": mixed_front}
    if args.budget_linas < len(mixed_all):  # its first subnets: a shorter run, where the budget is whole generations
        hv_fronts[f"nsga2@{args.budget_linas} (its first)"] = nsga2_early
    hv_ref = report.common_reference(list(hv_fronts.values()))
    hv = report.hypervolumes(hv_fronts, hv_ref)
    hv_linas, hv_nsga2 = hv[f"linas@{args.budget_linas}"], hv[f"nsga2@{args.budget_nsga2}"]

    int8 = ratios["mixed_vs_int8"]
    goal_met = (int8["median_size_ratio"] is not None and int8["median_size_ratio"] >= GOAL["size_vs_int8"]
                and int8["slower_points"] == 0)
    evaluated = {"nsga2": len(mixed_all), "linas": len(pd.read_csv(linas_dir / "results.csv")),
                 "fixed_bits": len(fixed["int8"]) + len(fixed["fp32"])}
    doc = {
        "benchmark": "quantized_search", "issue": "14 (items 5 and 7)", "goal": GOAL, "anchor": ANCHOR,
        "settings": {"space": space_name, "checkpoint": common["checkpoint"], "data": common["data"],
                     "eval_images": accuracy.metadata["eval_images"], "bn_images": accuracy.metadata["bn_images"],
                     "measure_options": measure, "latency_target": args.latency_target,
                     "latency_metric": latency_metric, "objectives": objectives, "seed": args.seed,
                     "budget_nsga2": args.budget_nsga2, "budget_linas": args.budget_linas,
                     "nsga2_options": read_json(nsga2_dir / "config.json")["searcher_options"],
                     "linas_options": read_json(linas_dir / "config.json")["searcher_options"],
                     "tolerance_points": TOLERANCE, "quick": args.quick, "work": str(args.work),
                     "accuracy_source": accuracy.source},
        "machine": {"python": platform.python_version(), "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "cpus": os.cpu_count(), "loadavg_start": list(load_start)},
        "runs": {"nsga2": {"run_dir": str(nsga2_dir), "evaluated": evaluated["nsga2"], "front": mixed_front},
                 "linas": {"run_dir": str(linas_dir), "evaluated": evaluated["linas"], "front": linas_front},
                 "int8": {"points": fixed["int8"], "front": fronts["int8"]},
                 "fp32": {"points": fixed["fp32"], "front": fronts["fp32"]}},
        "ratios": ratios, "goal_met": goal_met,
        "fronts_hypervolume": {"reference": abc_ref, "hv": abc_hv},
        "sample_efficiency": {"reference": hv_ref, "hv": hv,
                              "linas_over_nsga2": hv_linas / hv_nsga2 if hv_nsga2 else None},
        # seconds per measured subnet, over every session of the benchmark (searcher overhead included)
        "timings": {k: {**v, "s_per_subnet": v["wall_s"] / max(1, evaluated.get(k, 0))}
                    for k, v in timings.items()},
        "wall_s": time.time() - started,
    }
    doc["machine"]["loadavg_end"] = list(os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, doc)
    png = report.plot(args.out.with_suffix(".png"), fronts, {"mixed": mixed_all, **fixed}, hv,
                      f"{latency_metric} ({args.latency_target})",
                      f"{space_name}: NSGA-II mixed precision vs the same archs all-INT8 / all-FP32 "
                      f"({accuracy.metadata['eval_images']} eval images)")
    _print_summary(doc)
    _log(f"wrote {args.out} and {png}")
    return 0


def _x(v) -> str:
    return "n/a" if v is None else f"{v:.2f}x"


def _print_summary(doc: dict) -> None:
    for key, r in doc["ratios"].items():
        print(f"{key}: size {_x(r['median_size_ratio'])} (min {_x(r['min_size_ratio'])}), latency "
              f"{_x(r['median_latency_ratio'])} (min {_x(r['min_latency_ratio'])}); {r['matched']} matched, "
              f"{r['unmatched']} more accurate than every baseline point, {r['slower_points']} slower")
    se = doc["sample_efficiency"]
    print("hypervolume: " + ", ".join(f"{k} {v:.4f}" for k, v in se["hv"].items())
          + (f"; linas/nsga2 {se['linas_over_nsga2']:.3f}" if se["linas_over_nsga2"] else ""))
    print(f"goal (>= {GOAL['size_vs_int8']}x smaller than all-INT8, never slower): "
          f"{'met' if doc['goal_met'] else 'not met'}")


if __name__ == "__main__":
    sys.exit(main())
