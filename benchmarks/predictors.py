"""Accuracy predictors on the real OFA-MobileNetV3 ImageNet data, all on the same rows and folds.

Every predictor kind's 5-fold grouped CV (Kendall tau, Spearman rho, RMSE, fit and predict time),
next to once-for-all's released MLP predictor (imported, used as is: it was trained on its own
supernet's accuracies, so only its ranking is comparable) and MACs alone (a 1-D fit on log MACs per
fold for the RMSE). Then batch prediction throughput of the MLP against a per-arch Python loop.
Medians of repeats; writes benchmarks/results/predictors.json and .png.

    python benchmarks/predictors.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nas.io import write_json  # noqa: E402
from predictors import create_predictor, quality  # noqa: E402
from predictors.data import read_subnets  # noqa: E402
from predictors.fitting import software_versions  # noqa: E402
from predictors.ofa_import import import_ofa_predictor  # noqa: E402
from predictors.shipped import resolve_predictor  # noqa: E402
from predictors.validation import cross_validate, fold_ids  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "accuracy"
RESULTS = REPO / "benchmarks" / "results"
FOLDS, SEED = 5, 0


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def candidates(shipped) -> dict[str, tuple[str, dict]]:
    return {"ridge": ("ridge", {}), "svr (defaults)": ("svr", {}),
            "svr (shipped: CV-tuned)": (shipped.kind, dict(shipped.params)), "gbm": ("gbm", {}),
            "mlp": ("mlp", {}), "ensemble (svr+mlp+ridge)": ("ensemble", {})}


def cv_rows(data, shipped, repeats: int) -> list[dict]:
    rows = []
    for name, (kind, params) in candidates(shipped).items():
        cv = cross_validate(kind, data, FOLDS, SEED, **params)
        model = create_predictor(kind, data.space, **params).fit(data.genomes, data.y, SEED)
        predict_s = _median_time(lambda m=model: m.predict(data.genomes), repeats)
        rows.append({"name": name, "kind": kind, "params": params, **_pick(cv.metrics),
                     "fit_s_median_per_fold": cv.fit_s, "predict_s_all_rows": predict_s,
                     "predict_subnets_per_s": len(data) / predict_s})
        print(f"{name:28s} tau {cv.metrics['kendall_tau']:.4f} RMSE {cv.metrics['rmse']:.4f} "
              f"fit {cv.fit_s:.2f}s", flush=True)
    return rows


def _pick(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("kendall_tau", "spearman_rho", "rmse", "bias", "top10pct_precision", "n")}


def baselines(data) -> list[dict]:
    ofa = import_ofa_predictor(DATA / "ofa-predictor" / "acc_predictor.pth", data.space)
    ofa_row = {"name": "once-for-all released MLP (imported, no refit)", "kind": "mlp", **_pick(
        quality(data.y, ofa.predict(data.genomes)))}
    log_macs = np.log(data.space.count(data.genomes)["macs"].astype(np.float64))
    fold = fold_ids(data.groups, FOLDS, SEED)
    fitted = np.empty(len(data))
    for k in range(FOLDS):
        slope, intercept = np.polyfit(log_macs[fold != k], data.y[fold != k], 1)
        fitted[fold == k] = slope * log_macs[fold == k] + intercept
    macs_row = {"name": "MACs alone (linear in log MACs, same folds)", "kind": "baseline",
                **_pick(quality(data.y, fitted))}
    return [ofa_row, macs_row]


def throughput(data, n: int, loop_n: int, repeats: int) -> dict:
    """Subnets/s of one batched ``predict`` vs calling it one arch at a time (features included in both)."""
    out = {}
    genomes = data.space.sample(n, np.random.default_rng(1))
    models = {"mlp": create_predictor("mlp", data.space).fit(data.genomes, data.y, SEED),
              "svr (shipped)": resolve_predictor("ofa-mbv3-imagenet-top1")}
    for name, model in models.items():
        batch_s = _median_time(lambda m=model: m.predict(genomes), repeats)
        loop_s = _median_time(lambda m=model: [m.predict(g[None]) for g in genomes[:loop_n]], repeats)
        X = model.featurize(genomes, model.dtype)
        features_s = _median_time(lambda m=model: m.featurize(genomes, m.dtype), repeats)
        model_s = _median_time(lambda m=model, x=X: m.predict_features(x), repeats)
        out[name] = {"batch_subnets_per_s": n / batch_s, "loop_subnets_per_s": loop_n / loop_s,
                     "speedup": (n / batch_s) / (loop_n / loop_s), "batch_n": n, "loop_n": loop_n,
                     "features_only_subnets_per_s": n / features_s, "model_only_subnets_per_s": n / model_s}
        print(f"{name}: batch {n / batch_s:,.0f}/s, per-arch loop {loop_n / loop_s:,.0f}/s", flush=True)
    return out


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    names = [r["name"].split(" (")[0] if "shipped" not in r["name"] else "svr (shipped)" for r in rows]
    for ax, key, title in ((axes[0], "kendall_tau", "Kendall tau (5-fold grouped CV)"),
                           (axes[1], "rmse", "RMSE, top-1 points")):
        ax.barh(names, [r[key] for r in rows], color=["C0"] * (len(rows) - 2) + ["C3", "C7"])
        ax.set_title(title, fontsize=9)
        ax.invert_yaxis()
    axes[0].set_xlim(0.7, 1.0)
    axes[0].axvline(0.96, color="0.3", ls="--", lw=0.8)
    axes[1].axvline(0.15, color="0.3", ls="--", lw=0.8)
    axes[1].set_xscale("log")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and subnets (a smoke run)")
    args = ap.parse_args()
    paths = sorted((DATA / "ofa-mbv3-w1.0-imagenet").glob("*.csv"))
    if not paths:
        raise SystemExit(f"error: no data in {DATA} (the benchmark needs ../shared/data)")
    repeats = 3 if args.quick else 7
    data = read_subnets(paths, "ofa-mbv3").deduplicate()
    shipped = resolve_predictor("ofa-mbv3-imagenet-top1")
    rows = cv_rows(data, shipped, repeats) + baselines(data)
    speed = throughput(data, 20_000 if args.quick else 200_000, 500 if args.quick else 2000, repeats)
    result = {"data": {"files": [p.name for p in paths], "unique_subnets": len(data), "space": data.space.name},
              "folds": FOLDS, "fold_seed": SEED, "grouped": True, "repeats": repeats, "cv": rows,
              "throughput": speed, "software": software_versions(), "cpus": os.cpu_count(),
              "load_average_1_5_15min_at_end": list(os.getloadavg()),
              "note": "once-for-all's predictor was trained on its own w1.2 supernet's accuracies: its RMSE and bias "
                      "are against DyNAS-T's w1.0 measurements; compare it by rank (Kendall/Spearman)"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "predictors.json", result)
    plot(rows, RESULTS / "predictors.png")
    print(f"wrote {RESULTS / 'predictors.json'} and predictors.png")


if __name__ == "__main__":
    main()
