"""Read end-to-end latency measurements of whole subnets (CSV) into genomes and latencies.

An arch is given either by one column per choice of the space (``ks``, ``e``, ``d``, ``r``; list
values written space-separated as HELP does, comma-separated or as JSON lists) or by one ``arch``
column holding a JSON dict.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from search_spaces import SearchSpace
from search_spaces.checks import check_regular_file, parse_json_text
from search_spaces.errors import InvalidArchitecture, InvalidInput

__all__ = ["read_measurements", "latency_columns"]


def _parse_cell(text) -> object:
    if isinstance(text, (int, np.integer)):
        return int(text)
    if isinstance(text, float):
        return int(text) if text.is_integer() else text
    text = str(text).strip()
    if text.startswith("["):
        return parse_json_text(text, "the cell")
    parts = [p for p in re.split(r"[\s,]+", text) if p]
    values = [int(p) if re.fullmatch(r"-?\d+", p) else float(p) for p in parts]
    return values[0] if len(values) == 1 else values


#: column names taken as the latency (ms) without --column
LATENCY_NAMES = ("latency_ms", "latency", "lat_ms")
_INDEX_COLUMNS = {"arch", "idx", "index", "id", "arch_id"}


def latency_columns(df: pd.DataFrame, space: SearchSpace) -> list[str]:
    """Numeric columns that are neither arch columns nor an index."""
    skip = set(space.keys) | _INDEX_COLUMNS
    return [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])]


def _pick_column(df: pd.DataFrame, space: SearchSpace, path: Path, column: str | None) -> str:
    """The latency column: ``column``, else the one named like a latency, else the only numeric one."""
    skip = set(space.keys) | _INDEX_COLUMNS
    columns = latency_columns(df, space)
    listed = ", ".join(map(str, df.columns))
    if column is not None:
        if column not in df.columns:
            raise InvalidInput(f"{path} has no column {column!r}; its columns: {listed}")
        if column in skip:
            raise InvalidInput(f"--column {column!r} of {path} is an arch or index column, not latencies; "
                               f"latency columns: {', '.join(columns) or 'none'}")
        return column
    named = [c for c in df.columns if str(c).lower() in LATENCY_NAMES and c not in skip]
    if len(named) == 1:
        return named[0]  # non-numeric values are reported by row below
    if len(columns) == 1 and not named:
        return columns[0]
    if len(named) > 1 or len(columns) > 1:
        raise InvalidInput(f"{path} has several latency columns ({', '.join(map(str, named or columns))}); "
                           f"pick one with --column")
    raise InvalidInput(f"{path} has no numeric latency column (its columns: {listed}); expected one column of "
                       f"latencies in ms, named {', '.join(LATENCY_NAMES)} or picked with --column, besides the "
                       f"arch columns ({', '.join(space.keys)}, or one 'arch' column of JSON dicts)")


def read_measurements(path: str | Path, space: SearchSpace,
                      column: str | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """(genomes, latency in ms, the latency column used)."""
    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"measurements file {path} is a folder; expected a CSV of subnets and their latencies")
    check_regular_file(path, "measurements file")
    if not path.is_file():
        raise InvalidInput(f"measurements file {path} does not exist")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path} is not a readable CSV ({' '.join(str(exc).split())})") from None
    if df.empty:
        raise InvalidInput(f"{path} has no data rows (columns: {', '.join(map(str, df.columns))}); expected one "
                           f"row per timed subnet")
    missing = [] if "arch" in df.columns else [k for k in space.keys if k not in df.columns]
    if missing:  # before the latency column: without the arch, any numeric column looks like one
        raise InvalidInput(f"{path} lacks arch column {missing[0]!r}; expected columns "
                           f"{', '.join(space.keys)} (or one 'arch' column of JSON dicts) for space {space.name}")
    column = _pick_column(df, space, path, column)
    if "arch" in df.columns:
        archs = []
        for i, text in enumerate(df["arch"]):
            try:
                arch = parse_json_text(text, "the cell")
            except (TypeError, InvalidInput):  # TypeError: an empty cell, read as NaN
                arch = None
            if not isinstance(arch, dict):
                shown = repr(text) if len(repr(text)) <= 80 else repr(text)[:77] + "..."
                raise InvalidInput(f"{path} row {i + 2}: column 'arch' must hold a JSON dict such as "
                                   f'{{"ks": [...], "e": [...], "d": [...], "r": 224}}, not {shown}')
            archs.append(arch)
    else:
        try:
            cells = {k: [_parse_cell(v) for v in df[k]] for k in space.keys}
        except ValueError as exc:  # InvalidInput and JSONDecodeError are ValueErrors too
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
        value = df[column].iloc[row]
        shown = repr(value) if isinstance(value, str) else str(value)
        raise InvalidInput(f"{path} row {row + 2}: latency {shown} in column {column!r} is not a positive number "
                           f"of ms")
    return genomes, latency, column
