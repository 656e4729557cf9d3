"""Result tables: one row per evaluated subnet, Pareto fronts, best subnets, DyNAS-T's CSV layout."""

from __future__ import annotations

import datetime as _dt
import json
import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from search_spaces import SearchSpace

from .csv_rows import RowFormatter

__all__ = ["results_rows", "genomes_from_results", "pareto_table", "best_subnets", "to_dynast"]


def results_rows(space: SearchSpace, genomes: np.ndarray, values: dict[str, np.ndarray], generation,
                 feasible: np.ndarray) -> pd.DataFrame:
    """The rows ``results.csv`` gets for evaluated subnets (``generation``: one int or one per row)."""
    return RowFormatter(space, list(values)).frame(genomes, values, generation, feasible)


def genomes_from_results(space: SearchSpace, df: pd.DataFrame) -> np.ndarray:
    """The ``genome`` column (option indices separated by spaces) as ``[n, n_genes]`` int64."""
    if df.empty:
        return np.empty((0, space.n_genes), dtype=np.int64)
    text = " ".join(df["genome"].astype(str).tolist())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warns (and stops) at a token that is not an integer
            flat = np.fromstring(text, dtype=np.int64, sep=" ") if text.strip() else np.empty(0, dtype=np.int64)
    except (ValueError, DeprecationWarning):
        flat = np.empty(0, dtype=np.int64)
    if flat.size != len(df) * space.n_genes:
        from ..errors import RunDirectoryError

        raise RunDirectoryError(f"results rows hold genomes that do not fit space {space.name} "
                                f"({space.describe_genome()})")
    return space.check_genomes(flat.reshape(len(df), space.n_genes))


def pareto_table(df: pd.DataFrame, objectives: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Feasible rows on the first non-dominated front over ``objectives`` [(name, "min"|"max")]."""
    from ..search.pareto import pareto_mask

    feasible = df[df["feasible"].astype(bool)] if "feasible" in df else df
    if feasible.empty:
        return feasible
    F = np.stack([feasible[n].to_numpy(float) * (-1 if d == "max" else 1) for n, d in objectives], axis=1)
    front = feasible[pareto_mask(F)]
    return front.sort_values(objectives[-1][0] if len(objectives) > 1 else objectives[0][0])


def best_subnets(df: pd.DataFrame, primary: tuple[str, str], constraints: Sequence) -> dict:
    """Best feasible subnet under all constraints, and under each constraint alone."""

    def pick(rows: pd.DataFrame) -> dict | None:
        if rows.empty:
            return None
        name, direction = primary
        idx = rows[name].idxmax() if direction == "max" else rows[name].idxmin()
        row = rows.loc[idx]
        metrics = [c for c in rows.columns if c not in ("arch_id", "generation", "feasible", "genome", "config")]
        return {"arch_id": row["arch_id"], "arch": json.loads(row["config"]), "generation": int(row["generation"]),
                "values": {m: float(row[m]) for m in metrics}}

    out = {"objective": f"{primary[0]} ({primary[1]})", "constraints": [str(c) for c in constraints],
           "best": pick(df[df["feasible"].astype(bool)]) if not df.empty else None}
    if len(constraints) > 1:
        out["per_constraint"] = {
            str(c): pick(df[c.satisfied(df[c.metric].to_numpy(float))]) for c in constraints
        }
    return out


def to_dynast(df: pd.DataFrame) -> pd.DataFrame:
    """DyNAS-T's results CSV: ``Sub-network`` (Python dict string), Date, Model Parameters, Latency (ms),
    MACs, Top-1 Acc (%). Columns this run did not measure are written as 0, as DyNAS-T does."""
    configs = []
    for text in df["config"]:
        arch = json.loads(text)
        converted = {"wid": None, **{k: ([v] if k == "r" else v) for k, v in arch.items()}}
        configs.append(repr(converted))
    now = _dt.datetime.now().isoformat(sep=" ")
    zero = np.zeros(len(df))
    return pd.DataFrame({
        "Sub-network": configs,
        "Date": now,
        "Model Parameters": df["params"].to_numpy() if "params" in df else zero,
        "Latency (ms)": df["latency"].to_numpy() if "latency" in df else zero,
        "MACs": df["macs"].to_numpy() if "macs" in df else zero,
        "Top-1 Acc (%)": df["accuracy"].to_numpy() if "accuracy" in df else zero,
    })
