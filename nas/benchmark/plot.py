"""The NAS-Bench-201 benchmark as a picture: region hypervolume ratio and recall vs unique cells."""

from __future__ import annotations

from pathlib import Path

from ..io import atomic_path

__all__ = ["plot_nb201"]


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
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
