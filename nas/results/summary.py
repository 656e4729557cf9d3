"""A finished search's summary (best.json, pareto.csv, results_dynast.csv, pareto.png), from the archive's arrays.

Nothing here builds a table of every evaluated subnet: the front and the best subnets are found on
the archive's columns (the front incrementally, see ``Archive.front_rows``), only their rows are
rendered, DyNAS-T's CSV is written a chunk of rows at a time, and the plot thins a million points
to one marker per pixel-sized cell. A summary of a million subnets then costs seconds and tens of
megabytes, where reloading results.csv into pandas took minutes and gigabytes.

No file gets a number that is not finite: ``inf``/``NaN`` in pareto.csv or best.json (``Infinity`` is
not JSON) is refused with one line naming the subnet and the metric; a value that does not exist
(no feasible subnet) is ``null``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from search_spaces.errors import InvalidInput

from ..io import _default as json_default
from ..io import atomic_path, write_text
from .csv_rows import DynastFormatter, RowFormatter
from .plots import plot_front

__all__ = ["RunSummary", "summarize", "write_summary", "results_frame", "write_dynast", "front_axes"]


@dataclass
class RunSummary:
    front_axes: list[tuple[str, str]]  # the (metric, "min"|"max") axes of pareto.csv and the plot
    front_rows: np.ndarray  # archive rows on the front, in pareto.csv's order
    front: pd.DataFrame  # those rows with results.csv's columns
    best: dict  # best.json


def front_axes(evaluator, target_metric: str) -> list[tuple[str, str]]:
    """The front users want to see is accuracy vs cost, even when only accuracy was optimized."""
    objectives = [(o.name, o.direction) for o in evaluator.objectives]
    if len(objectives) > 1 or "accuracy" not in evaluator.metrics:
        return objectives
    return [("accuracy", "max"), (target_metric, "min")]


def _feasible(archive, evaluator) -> np.ndarray:
    if archive.has_scores:
        return archive.feasible()
    G = evaluator.G(archive.values)
    return np.all(G <= 0, axis=1) if G.size else np.ones(len(archive), dtype=bool)


def _front_of(values: dict[str, np.ndarray], feasible: np.ndarray, axes, chunk: int = 1 << 16) -> np.ndarray:
    """Feasible rows on the first non-dominated front over ``axes``, in row order (merged chunk by chunk)."""
    from ..search.pareto import pareto_mask

    n = len(feasible)
    front = np.empty(0, dtype=np.int64)
    for lo in range(0, n, chunk):
        rows = np.flatnonzero(feasible[lo:lo + chunk]) + lo
        cand = np.concatenate([front, rows])
        if len(cand):
            F = np.stack([values[m][cand] * (-1 if d == "max" else 1) for m, d in axes], axis=1)
            front = cand[pareto_mask(F)]
    return front


def _finite_or_refuse(where: str, what: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise InvalidInput(f"{where}: {what} is {value}, not a finite number; it is not written (the target, "
                           f"table or predictor that gave it overflows or is damaged)")
    return value


def summarize(problem, archive) -> RunSummary:
    """The front (over ``front_axes``) and best subnets (overall, and per constraint when there are
    several) of a search ``problem`` (a ``SearchProblem``: space, evaluator, target, constraints,
    sources) whose subnets are in ``archive``."""
    space, evaluator = problem.space, problem.evaluator
    objectives = [(o.name, o.direction) for o in evaluator.objectives]
    axes = front_axes(evaluator, problem.target.metric)
    values = archive.values
    feasible = _feasible(archive, evaluator)
    if archive.has_scores and axes == objectives:
        rows = archive.front_rows()
    else:
        rows = _front_of(values, feasible, axes)
    sort_by = axes[-1][0] if len(axes) > 1 else axes[0][0]
    rows = rows[np.argsort(values[sort_by][rows], kind="stable")]
    formatter = RowFormatter(space, archive.metric_names)
    generations = archive.generations

    def frame(index: np.ndarray) -> pd.DataFrame:
        return formatter.frame(archive.genomes_at(index), archive.values_for(index), generations[index],
                               feasible[index])

    front = frame(rows)
    for m in archive.metric_names:
        bad = np.flatnonzero(~np.isfinite(values[m][rows]))
        if bad.size:
            _finite_or_refuse("pareto.csv", f"{m} of subnet {front['arch_id'].iloc[bad[0]]}", values[m][rows[bad[0]]])

    primary, direction = objectives[0]

    def pick(mask: np.ndarray) -> dict | None:
        col = values[primary]
        candidates = np.flatnonzero(mask & ~np.isnan(col))  # as pandas' idxmax/idxmin: NaN never wins
        if not candidates.size:
            return None
        sub = col[candidates]
        row = int(candidates[np.argmax(sub) if direction == "max" else np.argmin(sub)])
        one = frame(np.array([row]))
        arch_id = one["arch_id"].iloc[0]
        return {"arch_id": arch_id, "arch": json.loads(one["config"].iloc[0]), "generation": int(generations[row]),
                "values": {m: _finite_or_refuse("best.json", f"{m} of subnet {arch_id}", values[m][row])
                           for m in archive.metric_names}}

    best = {"objective": f"{primary} ({direction})", "constraints": [str(c) for c in problem.constraints],
            "best": pick(feasible) if len(archive) else None}
    if len(problem.constraints) > 1:
        best["per_constraint"] = {str(c): pick(c.satisfied(values[c.metric])) for c in problem.constraints}
    best.update({"space": space.name, "target": problem.target.name, "sources": problem.sources,
                 "evaluated": len(archive), "pareto_size": len(rows)})
    return RunSummary(axes, rows, front, best)


def _json_text(obj) -> str:
    """JSON as ``nas.io.write_json`` writes it, refusing NaN and infinities (not JSON)."""
    try:
        return json.dumps(obj, indent=2, sort_keys=False, default=json_default, allow_nan=False) + "\n"
    except ValueError as exc:
        raise InvalidInput(f"best.json would hold a number that is not finite ({exc}); it is not written") from None


def write_dynast(path: str | Path, space, archive, date: str | None = None, chunk: int = 1 << 16) -> Path:
    """DyNAS-T's results CSV of every archived subnet, written a chunk at a time (atomically)."""
    formatter = DynastFormatter(space)
    date = date or _dt.datetime.now().isoformat(sep=" ")
    values = archive.values
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(formatter.header)
            for lo in range(0, len(archive), chunk):
                hi = min(len(archive), lo + chunk)
                f.write(formatter.lines(archive.genomes_at(slice(lo, hi)), {m: v[lo:hi] for m, v in values.items()},
                                        date))
            f.flush()
            os.fsync(f.fileno())
    return path


def write_summary(run_dir, summary: RunSummary, problem, archive, title: str = "",
                  constraints: Sequence = ()) -> None:
    """best.json, pareto.csv, results_dynast.csv and (with two front axes) pareto.png of a finished run.

    Every file is checked before any is written: a refused value leaves the directory as it was."""
    best_text = _json_text(summary.best)
    pareto_text = summary.front.to_csv(index=False)
    with atomic_path(run_dir.file(run_dir.PARETO)) as tmp:
        tmp.write_text(pareto_text, encoding="utf-8")
    write_dynast(run_dir.file(run_dir.DYNAST), problem.space, archive)
    axes = summary.front_axes
    if len(axes) >= 2:
        (y, _), (x, _) = axes[0], axes[1]
        values = archive.values
        order = summary.front_rows[np.argsort(values[x][summary.front_rows], kind="stable")]
        plot_front(values[x], values[y], _feasible(archive, problem.evaluator), values[x][order], values[y][order],
                   x, y, run_dir.file(run_dir.PLOT), title=title, constraints=constraints)
    write_text(run_dir.file(run_dir.BEST), best_text)  # last: best.json marks a finished run


def results_frame(space, archive, evaluator) -> pd.DataFrame:
    """Every archived subnet as results.csv's rows (a DataFrame: for small runs and tests; a million
    rows take gigabytes, which is why the summary never builds it)."""
    G = evaluator.G(archive.values)
    feasible = np.all(G <= 0, axis=1) if G.size else np.ones(len(archive), dtype=bool)
    return RowFormatter(space, archive.metric_names).frame(archive.genomes, archive.values, archive.generations,
                                                         feasible)
