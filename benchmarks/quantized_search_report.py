"""The arithmetic and the picture of ``quantized_search.py``: fronts, equal-accuracy ratios, hypervolumes.

Kept apart from the script that runs the searches so that it can be re-run on saved points (and read)
without a checkpoint. A *point* is a dict with at least ``accuracy`` (%), ``latency`` (the latency
target's value, whatever its unit) and ``size`` (MB); every objective but accuracy is minimized.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nas.search import hypervolume, pareto_mask

__all__ = ["minimized", "front", "equal_accuracy_ratios", "common_reference", "hypervolumes", "plot"]

AXES = ("accuracy", "latency", "size")


def minimized(points: list[dict]) -> np.ndarray:
    """``[n, 3]``: (-accuracy, latency, size), all to minimize (pymoo's convention, as the engine's F)."""
    return np.array([[-p["accuracy"], p["latency"], p["size"]] for p in points], dtype=np.float64).reshape(-1, 3)


def front(points: list[dict]) -> list[dict]:
    """The points no other point dominates on accuracy x latency x size, by increasing latency."""
    if not points:
        return []
    keep = pareto_mask(minimized(points))
    return sorted((p for p, k in zip(points, keep) if k), key=lambda p: (p["latency"], p["size"]))


def equal_accuracy_ratios(mixed: list[dict], baseline: list[dict], tolerance: float) -> dict:
    """For each ``mixed`` point, the baseline's smallest size and lowest latency among its points at most
    ``tolerance`` points less accurate, divided by the mixed point's: ``> 1`` means the mixed point is
    that many times smaller / faster at equal accuracy. Size and latency are matched separately (each
    its own best baseline point), as "x smaller at equal accuracy" reads. A mixed point more accurate
    than every baseline point by over ``tolerance`` has no match (``None``) and is counted apart."""
    per_point = []
    for p in mixed:
        ok = [b for b in baseline if b["accuracy"] >= p["accuracy"] - tolerance]
        if not ok:
            per_point.append({"id": p["id"], "accuracy": p["accuracy"], "size_ratio": None, "latency_ratio": None})
            continue
        by_size = min(ok, key=lambda b: (b["size"], b["latency"]))
        by_latency = min(ok, key=lambda b: (b["latency"], b["size"]))
        per_point.append({"id": p["id"], "accuracy": p["accuracy"],
                          "size_ratio": by_size["size"] / p["size"], "size_match": by_size["id"],
                          "latency_ratio": by_latency["latency"] / p["latency"], "latency_match": by_latency["id"]})
    sizes = [r["size_ratio"] for r in per_point if r["size_ratio"] is not None]
    lats = [r["latency_ratio"] for r in per_point if r["latency_ratio"] is not None]
    return {"tolerance_points": tolerance, "matched": len(sizes), "unmatched": len(per_point) - len(sizes),
            "median_size_ratio": float(np.median(sizes)) if sizes else None,
            "median_latency_ratio": float(np.median(lats)) if lats else None,
            "min_size_ratio": float(min(sizes)) if sizes else None,
            "min_latency_ratio": float(min(lats)) if lats else None,
            # "never slower": no mixed point slower than the fastest baseline point as accurate as it
            "slower_points": int(sum(r < 1 for r in lats)),
            "per_point": per_point}


def common_reference(groups: list[list[dict]], margin: float = 0.1) -> dict:
    """One box for every front compared: ideal and nadir over the union of ``groups`` (minimized
    objectives), the reference point ``margin`` of the range beyond the nadir."""
    F = np.concatenate([minimized(g) for g in groups if g])
    ideal, nadir = F.min(axis=0), F.max(axis=0)
    span = np.where(nadir > ideal, nadir - ideal, 1.0)  # a flat objective still gets a unit box
    return {"objectives": ["-accuracy", "latency", "size"], "ideal": ideal.tolist(), "nadir": nadir.tolist(),
            "reference": (nadir + margin * span).tolist(), "span": span.tolist(), "margin": margin}


def hypervolumes(named: dict[str, list[dict]], ref: dict) -> dict[str, float]:
    """Hypervolume of each named front in the box of ``ref``, normalized per objective (ideal 0, span 1):
    the fraction of the box ``[0, 1 + margin]^3`` it dominates, so objectives in MB, MACs or ms weigh alike."""
    ideal, span = np.array(ref["ideal"]), np.array(ref["span"])
    point = (np.array(ref["reference"]) - ideal) / span
    box = float(np.prod(point))
    return {name: (hypervolume((minimized(pts) - ideal) / span, point) / box if pts else 0.0)
            for name, pts in named.items()}


def plot(path: str | Path, fronts: dict[str, list[dict]], points: dict[str, list[dict]], hv: dict[str, float],
         latency_label: str, title: str) -> Path:
    """Accuracy vs latency and vs size (every measured point faint, each front's 2-D staircase drawn),
    and the hypervolume bars of the sample-efficiency runs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nas.io import save_figure

    colors = {"mixed": "tab:red", "int8": "tab:blue", "fp32": "tab:gray"}
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    for ax, key, label in ((axes[0], "latency", latency_label), (axes[1], "size", "size (MB)")):
        for name, pts in points.items():
            c = colors.get(name, None)
            if pts:
                ax.scatter([p[key] for p in pts], [p["accuracy"] for p in pts], s=8, alpha=0.25, color=c)
            fr = sorted(fronts.get(name, []), key=lambda p: (p[key], -p["accuracy"]))
            stair, best = [], -np.inf
            for p in fr:  # the 2-D front of the 3-D front's points on this pair of axes
                if p["accuracy"] > best:
                    stair.append(p)
                    best = p["accuracy"]
            if stair:
                ax.step([p[key] for p in stair], [p["accuracy"] for p in stair], where="post", color=c,
                        label=f"{name} ({len(fr)} on the 3-D front)")
                ax.scatter([p[key] for p in fr], [p["accuracy"] for p in fr], s=18, color=c)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("measured top-1 (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    names = list(hv)
    axes[2].bar(names, [hv[n] for n in names], color=["tab:green", "tab:orange", "tab:olive"][:len(names)])
    for i, n in enumerate(names):
        axes[2].text(i, hv[n], f"{hv[n]:.3f}", ha="center", va="bottom", fontsize=9)
    axes[2].set_ylabel("hypervolume (normalized, common reference)")
    axes[2].set_title("sample efficiency")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
