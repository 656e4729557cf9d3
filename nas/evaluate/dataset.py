"""Predictor datasets: measured subnets written as this engine's results CSV (``arch_id``,
``accuracy``, ``macs``, ``params``, ``genome``, ``config``; what ``nas predictor fit --data`` reads),
DyNAS-T's results CSV beside it, and a JSON file with the measurement's provenance."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from search_spaces import SearchSpace, Structured
from search_spaces.errors import InvalidInput

from ..io import atomic_path, write_json
from ..results.tables import results_rows, to_dynast

__all__ = ["predictor_dataset", "write_predictor_dataset", "dataset_paths"]


def predictor_dataset(space: SearchSpace, genomes: np.ndarray, accuracy: np.ndarray) -> pd.DataFrame:
    genomes = space.check_genomes(genomes)
    accuracy = np.asarray(accuracy, dtype=np.float64)
    if len(accuracy) != len(genomes):
        raise InvalidInput(f"{len(genomes)} subnets but {len(accuracy)} accuracies")
    values = {"accuracy": accuracy}
    if isinstance(space, Structured):
        values.update({k: v.astype(np.float64) for k, v in space.count(genomes).items()})
    return results_rows(space, genomes, values, 0, np.ones(len(genomes), dtype=bool))


def dataset_paths(path: str | Path) -> dict[str, Path]:
    """Where a dataset named ``path`` goes; refused (before any measuring) for names it would not write."""
    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"--out {path} is a directory; give the dataset's file name, e.g. {path / 'measured.csv'}")
    if path.suffix not in ("", ".csv"):
        raise InvalidInput(f"--out {path} ends in {path.suffix}; a predictor dataset is a .csv file")
    stem = path.with_suffix("") if path.suffix == ".csv" else path
    return {"csv": stem.with_suffix(".csv"), "dynast": Path(f"{stem}_dynast.csv"), "meta": Path(f"{stem}.meta.json")}


def write_predictor_dataset(path: str | Path, space: SearchSpace, genomes: np.ndarray, accuracy: np.ndarray,
                            metadata: Mapping | None = None) -> dict[str, Path]:
    """Write ``path`` (.csv), ``<stem>_dynast.csv`` and ``<stem>.meta.json`` atomically; return the paths."""
    df = predictor_dataset(space, genomes, accuracy)
    paths = dataset_paths(path)
    with atomic_path(paths["csv"]) as tmp:
        df.to_csv(tmp, index=False)
    with atomic_path(paths["dynast"]) as tmp:
        to_dynast(df).to_csv(tmp, index=False)
    write_json(paths["meta"], {"space": space.name, "layout": space.layout_signature(), "subnets": len(df),
                               "metric": "accuracy (top-1, %)", "date": _dt.datetime.now(_dt.timezone.utc)
                               .isoformat(timespec="seconds"), **dict(metadata or {})})
    return paths
