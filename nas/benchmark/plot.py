"""The NAS-Bench-201 benchmark as a picture: region hypervolume ratio and recall vs unique cells."""

from __future__ import annotations

from pathlib import Path

from ..io import save_figure

__all__ = ["plot_aggregate", "plot_nb201"]


def plot_nb201(results: list[dict], path: str | Path) -> Path:
    """One row per accuracy/device pair: mean (line) and worst (dotted) curves of every searcher."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 2, figsize=(10, 3.2 * len(results)), dpi=110, squeeze=False)
    for row, res in zip(axes, results):
        x = res["checkpoints"]
        for i, (name, s) in enumerate(res["searchers"].items()):
            color = f"C{i}"
            for ax, key in zip(row, ("hv_ratio", "recall")):
                ax.plot(x, s["curve"][f"{key}_mean"], color=color, label=name, lw=2 if name != res["baseline"] else 1)
                ax.plot(x, s["curve"][f"{key}_worst"], color=color, ls=":", lw=1)
        title = f"{res['dataset']} / {res['device']} ({res['exact_front']['front_cells']} front cells)"
        row[0].set(title=f"region HV ratio: {title}", xlabel="unique cells evaluated", ylabel="HV / exact HV")
        row[0].axhline(0.995, color="grey", lw=0.8, ls="--")
        row[1].set(title="recall of the exact front", xlabel="unique cells evaluated", ylabel="share of front found")
        row[1].axhline(0.5, color="grey", lw=0.8, ls="--")
        row[0].set_ylim(max(0.0, min(min(s["curve"]["hv_ratio_worst"][1:] or [0.8]) for s in res["searchers"].values())
                            - 0.02), 1.0)
        row[1].legend(fontsize=8, loc="upper left")
    fig.suptitle(f"NAS-Bench-201: mean (solid) and worst (dotted) over {results[0]['seeds']} seeds")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_aggregate(doc: dict, path: str | Path) -> Path:
    """Many pairs at a glance: per searcher, each pair's mean (dots), the mean over pairs (bar) and the worst
    run (x), for region HV ratio and recall at every budget scored."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from .aggregate import _per_budget

    budgets = sorted(doc["aggregate"], key=int)
    untuned = [r for r in doc["results"] if not r.get("tuned_pair")]  # what "aggregate" is over
    keys = ("hv_ratio", "recall")
    fig, axes = plt.subplots(len(keys), len(budgets), figsize=(5.5 * len(budgets), 7), dpi=110, squeeze=False)
    for col, budget in enumerate(budgets):
        agg = doc["aggregate"][budget]
        names = list(agg)
        for row, key in enumerate(keys):
            ax = axes[row][col]
            for i, name in enumerate(names):
                pts = []
                for res in untuned or doc["results"]:
                    s = res["searchers"].get(name)
                    got = s and _per_budget(s, int(budget), res["budget"])
                    if got:
                        pts.append(got["mean"][key])
                ax.bar(i, agg[name][key]["mean"], color=f"C{i}", alpha=0.35)
                ax.scatter(np.full(len(pts), i) + np.linspace(-0.25, 0.25, len(pts)), pts, color=f"C{i}", s=10)
                ax.scatter([i], [agg[name][key]["worst_run"]], color="k", marker="x", s=20)
            ax.set_xticks(range(len(names)),
                          [f"{n}\n({agg[n]['pairs']}p, {'/'.join(map(str, agg[n]['seeds']))}s)" for n in names],
                          fontsize=7)
            label = "region HV ratio" if key == "hv_ratio" else "recall of the exact front"
            ax.set(title=f"{label} at {budget} cells", ylabel=label)
            if key == "hv_ratio":
                lows = [agg[n][key]["worst_run"] for n in names]
                ax.set_ylim(max(0.0, min(lows) - 0.02), 1.0)
                ax.axhline(0.99, color="grey", lw=0.8, ls="--")
            else:
                ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    n_pairs = len(untuned or doc["results"])
    extra = " (the tuned pairs apart)" if untuned and len(untuned) < len(doc["results"]) else ""
    fig.suptitle(f"NAS-Bench-201 over {n_pairs} dataset x device pairs{extra}: bar = mean over pairs, dots = each "
                 f"pair's mean over seeds, x = worst run; (Np, Ms) = pairs, seeds", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
