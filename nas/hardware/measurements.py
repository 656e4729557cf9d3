"""Read end-to-end latency measurements of whole subnets (CSV) into genomes and latencies.

An arch is given either by one column per choice of the space (``ks``, ``e``, ``d``, ``r``; list
values written space-separated as HELP does, comma-separated or as JSON lists) or by one ``arch``
column holding a JSON dict.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from search_spaces import SearchSpace
from search_spaces.errors import InvalidArchitecture, InvalidInput

__all__ = ["read_measurements", "latency_columns"]


def _parse_cell(text) -> object:
    if isinstance(text, (int, np.integer)):
        return int(text)
    if isinstance(text, float):
        return int(text) if text.is_integer() else text
    text = str(text).strip()
    if text.startswith("["):
        return json.loads(text)
    parts = [p for p in re.split(r"[\s,]+", text) if p]
    values = [int(p) if re.fullmatch(r"-?\d+", p) else float(p) for p in parts]
    return values[0] if len(values) == 1 else values


def latency_columns(df: pd.DataFrame, space: SearchSpace) -> list[str]:
    """Numeric columns that are neither arch columns nor an index."""
    skip = set(space.keys) | {"arch", "idx", "index", "id", "arch_id"}
    return [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])]


def read_measurements(path: str | Path, space: SearchSpace,
                      column: str | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """(genomes, latency in ms, the latency column used)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"measurements file {path} does not exist")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path} is not a readable CSV ({' '.join(str(exc).split())})") from None
    columns = latency_columns(df, space)
    if column is None:
        named = [c for c in columns if c.lower() in ("latency_ms", "latency", "lat_ms")]
        if len(named) != 1 and len(columns) != 1:
            raise InvalidInput(f"{path} has several latency columns ({', '.join(columns) or 'none'}); "
                               f"pick one with --column")
        column = named[0] if len(named) == 1 else columns[0]
    if column not in df.columns:
        raise InvalidInput(f"{path} has no column {column!r}; latency columns: {', '.join(columns) or 'none'}")
    if "arch" in df.columns:
        try:
            archs = [json.loads(a) for a in df["arch"]]
        except (TypeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"{path}: column 'arch' must hold JSON dicts ({exc})") from None
    else:
        missing = [k for k in space.keys if k not in df.columns]
        if missing:
            raise InvalidInput(f"{path} lacks arch column {missing[0]!r}; expected columns "
                               f"{', '.join(space.keys)} (or one 'arch' column of JSON dicts) for space {space.name}")
        try:
            cells = {k: [_parse_cell(v) for v in df[k]] for k in space.keys}
        except (ValueError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"{path} has a malformed arch value ({exc})") from None
        archs = [{k: cells[k][i] for k in space.keys} for i in range(len(df))]
    genomes = np.empty((len(archs), space.n_genes), dtype=np.int64)
    for i, arch in enumerate(archs):
        try:
            genomes[i] = space.encode(arch)
        except InvalidArchitecture as exc:
            raise InvalidArchitecture(f"{path} row {i + 2}: {exc}") from None
    latency = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(latency) | (latency <= 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidInput(f"{path} row {row + 2}: latency {df[column].iloc[row]} "
                           f"is not a positive number")
    return genomes, latency, column
