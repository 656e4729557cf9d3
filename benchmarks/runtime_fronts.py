"""Fronts per runtime: does a search against the fused-kernel table pick other subnets than one against
the TorchScript table?

On ``ofa-mbv3[r=224]`` (96 block-level ops: profiling fits in minutes here) with the shipped accuracy
predictor (``ofa-mbv3-imagenet-top1``, the same objective for every target), this

1. builds the tables of the ``cpu`` (TorchScript), ``cpu-fused`` and, with ``--ort``, ``cpu-ort``
   targets in a cache of its own (profiled op by op, then calibrated on 20 subnets end to end), timing
   each step (seconds per op);
2. runs ``nas search --target T`` (NSGA-II, same budget and seed) for each target;
3. compares the fronts: mean kernel size, expand ratio and depth per stage of the active blocks, the
   overlap of front arch ids, each front's latency under every other target's table, the fastest
   subnet of each front at matched accuracy levels, and a few front subnets timed end to end in both
   runtimes (the tables' claims checked);
4. writes ``benchmarks/results/runtime_fronts.json`` and ``runtime_fronts.png``.

    nohup nice -n 10 python benchmarks/runtime_fronts.py --ort > runs/runtime_fronts.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SPACE = "ofa-mbv3[r=224]"
RUNTIME_OF = {"cpu": "torchscript", "cpu-fused": "fused", "cpu-ort": "onnxruntime", "cpu-eager": "eager"}


def _load_avg() -> str:
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


def build_tables(space, targets, log) -> dict:
    """Profile (op by op) then calibrate each target's table; seconds per op and per calibration."""
    from nas.hardware import latency_api
    from nas.hardware.local import CPU_SETTINGS
    from nas.hardware.table import read_table

    out = {}
    for target in targets:
        runtime = RUNTIME_OF[target]
        t0, load0 = time.time(), _load_avg()
        res = latency_api.profile(space, runtime=runtime, calibrate=0, progress=False)
        t_prof = time.time() - t0
        t1 = time.time()
        if CPU_SETTINGS["calibrate"]:  # an affine correction: it moves no subnet on or off a front
            latency_api.profile(space, runtime=runtime, calibrate=CPU_SETTINGS["calibrate"], progress=False)
        t_cal = time.time() - t1
        meta = read_table(res["table"]).metadata
        out[target] = {"runtime": runtime, "runtime_detail": meta.get("runtime_detail"), "table": res["table"],
                       "ops": res["ops"], "measured_now": res["measured_now"], "profile_s": round(t_prof, 1),
                       "s_per_op": round(t_prof / max(1, res["measured_now"]), 3) if res["measured_now"] else None,
                       "calibrate_s": round(t_cal, 1), "calibration": meta.get("calibration"),
                       "load_avg_at_start": load0}
        log(f"{target}: {res['ops']} ops ({res['measured_now']} now) in {t_prof:.0f} s, calibration {t_cal:.0f} s")
    return out


def run_search(target: str, budget: int, seed: int, run_dir: Path, env: dict, log) -> tuple[Path, float]:
    if run_dir.exists():
        shutil.rmtree(run_dir)
    cmd = [sys.executable, "-c", "import sys; from nas.cli import main; sys.exit(main())",
           "search", "--space", SPACE, "--target", target, "--budget", str(budget), "--seed", str(seed),
           "--out", str(run_dir), "--no-progress", "--json"]
    t0 = time.time()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"search for {target} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    log(f"search {target}: {time.time() - t0:.0f} s")
    return run_dir / "pareto.csv", time.time() - t0


def read_front(path: Path, space):
    import pandas as pd

    df = pd.read_csv(path)
    df = df[df["feasible"].astype(bool)] if "feasible" in df else df
    genomes = np.array([[int(v) for v in g.split()] for g in df["genome"]])
    return df.reset_index(drop=True), genomes


def arch_stats(space, genomes) -> dict:
    """Mean kernel size / expand ratio of the active blocks, mean depth per stage (and their spread)."""
    ks, es, depths = [], [], []
    for arch in space.decode_many(genomes):
        d = list(arch["d"])
        active = [i for stage, di in enumerate(d) for i in range(4 * stage, 4 * stage + di)]
        ks.append(np.mean([arch["ks"][i] for i in active]))
        es.append(np.mean([arch["e"][i] for i in active]))
        depths.append(d)
    depths = np.array(depths, dtype=float)
    # per stage: kernel / expand of the active blocks of that stage
    per_stage_ks, per_stage_e = [], []
    for stage in range(5):
        k_s, e_s = [], []
        for arch in space.decode_many(genomes):
            idx = range(4 * stage, 4 * stage + arch["d"][stage])
            k_s += [arch["ks"][i] for i in idx]
            e_s += [arch["e"][i] for i in idx]
        per_stage_ks.append(round(float(np.mean(k_s)), 2))
        per_stage_e.append(round(float(np.mean(e_s)), 2))
    return {"n": int(len(genomes)), "mean_kernel": round(float(np.mean(ks)), 3),
            "mean_expand": round(float(np.mean(es)), 3), "mean_depth_per_stage": depths.mean(0).round(2).tolist(),
            "mean_blocks": round(float(depths.sum(1).mean()), 2), "kernel_per_stage": per_stage_ks,
            "expand_per_stage": per_stage_e}


def matched(fronts: dict, models: dict, levels) -> dict:
    """For each accuracy level: the fastest subnet of each front reaching it, its latency under each table."""
    out = {}
    for level in levels:
        row = {}
        for name, (df, genomes) in fronts.items():
            ok = df["accuracy"].to_numpy() >= level
            if not ok.any():
                row[name] = None
                continue
            cell = {}
            for model_name, model in models.items():
                lat = model.predict(genomes[ok])
                cell[model_name] = round(float(lat.min()), 3)
            row[name] = cell
        out[f"{level:.2f}"] = row
    return out


def measure_some(space, fronts: dict, runtimes: list[str], per_front: int, log) -> dict:
    """A few subnets spread along each front, timed end to end in each runtime (fastest of 2 passes)."""
    from nas.hardware.local import CPU_SETTINGS
    from nas.hardware.validate import measure_subnets

    out = {}
    for name, (df, genomes) in fronts.items():
        order = np.argsort(df["accuracy"].to_numpy())
        pick = order[np.unique(np.linspace(0, len(order) - 1, per_front).round().astype(int))]
        cell = {"arch_ids": [df["arch_id"][i] for i in pick],
                "accuracy": [round(float(df["accuracy"][i]), 3) for i in pick]}
        for runtime in runtimes:
            ms, _ = measure_subnets(space, genomes[pick], runtime=runtime, threads=CPU_SETTINGS["threads"],
                                    warmup=3, repeats=15, passes=2)
            cell[runtime] = [round(float(v), 3) for v in ms]
        out[name] = cell
        log(f"measured {len(pick)} subnets of the {name} front in {', '.join(runtimes)}")
    return out


def plot(fronts: dict, targets: list[str], path: Path) -> None:
    """``fronts``: {front: {"accuracy": [...], "latency_<target>_ms": [...]}} (the JSON's ``fronts``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(targets), figsize=(5.2 * len(targets), 4.4), squeeze=False)
    colors = dict(zip(fronts, ["tab:blue", "tab:red", "tab:green", "tab:purple"]))
    for ax, model_name in zip(axes[0], targets):
        for front_name, front in fronts.items():
            lat = np.asarray(front[f"latency_{model_name}_ms"])
            acc = np.asarray(front["accuracy"])
            o = np.argsort(lat)
            own = front_name == model_name
            ax.plot(lat[o], acc[o], "o-" if own else "x", ms=3 if own else 4, lw=1, color=colors[front_name],
                    label=f"front of --target {front_name}" + (" (own table)" if own else ""))
        ax.set(xlabel=f"latency under the {model_name} table ({RUNTIME_OF[model_name]}), ms",
               ylabel="predicted top-1 (%)", title=f"both fronts, {model_name} table")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{SPACE}: fronts searched per runtime (same predictor, same budget/seed)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", type=int, default=4000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ort", action="store_true", help="also the cpu-ort target (op-by-op ONNX export: ~6 min)")
    p.add_argument("--measure", type=int, default=5, help="front subnets timed end to end per front and runtime")
    p.add_argument("--calibrate", type=int, default=20,
                   help="subnets timed end to end to calibrate each table (the cpu targets' default: 20; 0: skip "
                        "-- a scale and offset, it changes no front, only the absolute ms)")
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "runtime_fronts")
    p.add_argument("--out", type=Path, default=RESULTS / "runtime_fronts.json")
    p.add_argument("--replot", action="store_true", help="only redraw the PNG from the JSON at --out")
    args = p.parse_args(argv)
    if args.replot:
        result = json.loads(args.out.read_text())
        plot(result["fronts"], result["targets"], args.out.with_suffix(".png"))
        return 0

    args.work.mkdir(parents=True, exist_ok=True)
    cache = args.work / "cache"
    os.environ["NAS_CACHE_DIR"] = str(cache)  # tables of its own, not the user's cache
    real_fused = Path(os.path.expanduser("~/.cache/nas-engine/fused"))
    if real_fused.is_dir() and not (cache / "fused").exists():  # the kernels built before: not rebuilt
        shutil.copytree(real_fused, cache / "fused")
    env = dict(os.environ)

    from nas.hardware._target import resolve_target
    from search_spaces import get_space

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')} load {_load_avg()}] {msg}", flush=True)

    from nas.hardware.local import CPU_SETTINGS

    CPU_SETTINGS["calibrate"] = args.calibrate  # in this process; the searches find the tables calibrated
    space = get_space(SPACE)
    targets = ["cpu", "cpu-fused"] + (["cpu-ort"] if args.ort else [])
    started = time.time()
    tables = build_tables(space, targets, log)
    # the searches get each target's table file: the same table the target name resolves to, without the
    # target's first-use calibration in the search process (an affine correction, it changes no front)
    models = {t: resolve_target(tables[t]["table"], space) for t in targets}
    fronts, search_s = {}, {}
    for t in targets:
        path, search_s[t] = run_search(tables[t]["table"], args.budget, args.seed, args.work / f"search-{t}", env,
                                       log)
        fronts[t] = read_front(path, space)
    ids = {t: set(df["arch_id"]) for t, (df, _) in fronts.items()}
    overlap = {f"{a}|{b}": {"shared": len(ids[a] & ids[b]), "jaccard": round(len(ids[a] & ids[b]) /
                                                                               max(1, len(ids[a] | ids[b])), 3)}
               for i, a in enumerate(targets) for b in targets[i + 1:]}
    cross = {}
    for front_name, (df, genomes) in fronts.items():
        lat = {m: models[m].predict(genomes) for m in targets}
        cross[front_name] = {
            "accuracy_range": [round(float(df["accuracy"].min()), 3), round(float(df["accuracy"].max()), 3)],
            "latency_median_ms": {m: round(float(np.median(v)), 3) for m, v in lat.items()},
            "latency_range_ms": {m: [round(float(v.min()), 3), round(float(v.max()), 3)] for m, v in lat.items()},
            "ratio_to_cpu_median": {m: round(float(np.median(v / lat["cpu"])), 3) for m, v in lat.items()},
        }
    accs = np.concatenate([df["accuracy"].to_numpy() for df, _ in fronts.values()])
    levels = np.round(np.quantile(accs, [0.1, 0.3, 0.5, 0.7, 0.9]), 2)
    measured = measure_some(space, fronts, [RUNTIME_OF[t] for t in targets], args.measure, log) if args.measure else {}
    stats = {t: arch_stats(space, g) for t, (_, g) in fronts.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    png = args.out.with_suffix(".png")
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    result = {
        "space": SPACE, "predictor": "shipped ofa-mbv3-imagenet-top1 (nas predictors)",
        "searcher": "nas search default (NSGA-II, accuracy + latency)", "budget": args.budget, "seed": args.seed,
        "targets": targets,
        "calibration_subnets": args.calibrate,
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "threads": 1, "note": "shared 2-core VM; other jobs ran "
                    "(load averages logged); timings +-15%"},
        "tables": tables, "search_s": {k: round(v, 1) for k, v in search_s.items()},
        "front_stats": stats, "front_overlap": overlap, "cross_latency": cross,
        "fastest_at_accuracy": matched(fronts, models, levels), "measured_end_to_end_ms": measured,
        "fronts": {t: {"arch_id": df["arch_id"].tolist(), "accuracy": df["accuracy"].round(3).tolist(),
                       **{f"latency_{m}_ms": models[m].predict(g).round(3).tolist() for m in targets}}
                   for t, (df, g) in fronts.items()},
        "elapsed_s": round(time.time() - started, 1), "plot": png.name,
    }
    plot(result["fronts"], targets, png)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(args.out)
    log(f"wrote {args.out} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
