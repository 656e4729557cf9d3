"""Searcher scores aggregated over many NAS-Bench-201 pairs: what a default has to be judged on.

Per searcher and budget, from each pair's per-seed runs: the mean over pairs of each pair's mean
(``mean``), the spread of those pair means (``std``, ``min``, ``max``), the pair with the worst mean
(``worst_pair``) and the worst single run over all pairs and seeds (``worst_run``). For IGD+ lower is
better, so "worst" is the largest. Random search (the baseline) is one of the rows, and each searcher's
mean region HV ratio is also given relative to it (``hv_ratio_vs_baseline``: mean over pairs of the
per-pair difference).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

__all__ = ["aggregate", "aggregates", "budgets_of", "matched"]

HIGHER_IS_BETTER = {"hv_ratio": True, "recall": True, "igd_plus": False}


def _per_budget(searcher: dict, budget: int, run_budget: int | None = None) -> dict | None:
    """``{"mean", "worst", "runs"}`` of one searcher on one pair at ``budget`` (None when not scored there).
    The searcher's own budget counts (pairs merged from several files may mix budgets), else ``run_budget``."""
    if "by_budget" in searcher and str(budget) in searcher["by_budget"]:
        return searcher["by_budget"][str(budget)]
    own = searcher.get("budget") or (max_budget(searcher) if searcher.get("runs") else run_budget)
    if budget == own:
        return {"mean": searcher["mean"], "worst": searcher["worst"], "runs": searcher["runs"]}
    return None


def budgets_of(results: Iterable[dict]) -> list[int]:
    out = set()
    for res in results:
        for s in res["searchers"].values():
            out.update(int(b) for b in s.get("by_budget", {}))
            out.add(int(s.get("budget") or (max_budget(s) if s.get("runs") else res["budget"])))
    return sorted(out)


def aggregate(results: list[dict], budget: int) -> dict[str, dict]:
    """Per searcher, scores at ``budget`` aggregated over the pairs in ``results`` (``run_nb201`` outputs).

    Only pairs where the searcher was scored at ``budget`` count (``pairs`` says how many and which), so a
    searcher run on fewer pairs or seeds (the Bayesian ones) is not averaged with made-up numbers."""
    names = list(dict.fromkeys(n for res in results for n in res["searchers"]))
    baseline = {}
    for res in results:
        base = res["searchers"].get(res.get("baseline", "random"))
        got = base and _per_budget(base, budget, res["budget"])
        if got:
            baseline[(res["dataset"], res["device"])] = got["mean"]["hv_ratio"]
    out: dict[str, dict] = {}
    for name in names:
        rows = []
        for res in results:
            s = res["searchers"].get(name)
            got = s and _per_budget(s, budget, res["budget"])
            if got:
                rows.append(((res["dataset"], res["device"]), got, s))
        if not rows:
            continue
        entry: dict = {"pairs": len(rows), "pair_names": [f"{d}:{v}" for (d, v), _, _ in rows],
                       "seeds": sorted({len(g["runs"]) for _, g, _ in rows})}
        for key, higher in HIGHER_IS_BETTER.items():
            means = np.array([g["mean"][key] for _, g, _ in rows], dtype=np.float64)
            runs = np.array([r[key] for _, g, _ in rows for r in g["runs"]], dtype=np.float64)
            worst_i = int(np.argmin(means) if higher else np.argmax(means))
            entry[key] = {"mean": float(means.mean()), "std": float(means.std()), "min": float(means.min()),
                          "max": float(means.max()), "worst_pair": entry["pair_names"][worst_i],
                          "worst_pair_mean": float(means[worst_i]),
                          "worst_run": float(runs.min() if higher else runs.max())}
        diffs = [g["mean"]["hv_ratio"] - baseline[p] for p, g, _ in rows if p in baseline]
        entry["hv_ratio_vs_baseline"] = float(np.mean(diffs)) if diffs else None
        seconds = [r["seconds"] for _, _, s in rows for r in s["runs"] if "seconds" in r]
        entry["seconds_per_run"] = float(np.mean(seconds)) if seconds else None
        entry["run_budget"] = sorted({max_budget(s) for _, _, s in rows})  # seconds_per_run is at this budget
        entry["options"] = rows[0][2].get("options", {})
        out[name] = entry
    return out


def max_budget(searcher: dict) -> int:
    """The budget a searcher's runs were made at (the number of cells each evaluated, at most)."""
    return max(int(r.get("evaluated", 0)) for r in searcher["runs"])


def matched(results: list[dict], budget: int) -> dict[str, dict]:
    """For each searcher scored on fewer pairs than the most any searcher was (e.g. a slow Bayesian one),
    every searcher's aggregate over just those pairs, so it is compared on the same problems."""
    full = aggregate(results, budget)
    most = max((a["pairs"] for a in full.values()), default=0)
    out = {}
    for name, a in full.items():
        if a["pairs"] < most:
            keep = set(a["pair_names"])
            subset = [r for r in results if f"{r['dataset']}:{r['device']}" in keep]
            out[name] = {"pairs": a["pair_names"], "aggregate": aggregate(subset, budget)}
    return out


def aggregates(results: list[dict]) -> dict[str, dict]:
    """``aggregate`` (and ``matched``) at every budget scored, over the pairs the defaults were not first tuned
    on (``tuned_pair`` false) when there are any, and separately over the tuned pairs (``aggregate_tuned``)."""
    untuned = [r for r in results if not r.get("tuned_pair")]
    tuned = [r for r in results if r.get("tuned_pair")]
    main = untuned or tuned
    out = {"aggregate": {str(b): aggregate(main, b) for b in budgets_of(main)},
           "matched": {str(b): matched(main, b) for b in budgets_of(main)}}
    if untuned and tuned:
        out["aggregate_tuned"] = {str(b): aggregate(tuned, b) for b in budgets_of(tuned)}
    return out
