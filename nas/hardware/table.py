"""LatencyTable: per-op latencies keyed by canonical op spec, with provenance, stored as CSV or Parquet.

CSV files start with one line ``# nas-latency-table {json metadata}`` followed by the rows; Parquet
files keep the same JSON in their schema metadata. Columns: the op spec fields (``key`` first),
``latency_ms`` (the table's statistic, see ``metadata["statistic"]``), ``spread_ms``, ``count`` and an
optional ``resolution``: the network input resolution an entry was measured in, for tables (such as
once-for-all's) that measured the same op separately per resolution; blank means any network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from search_spaces.checks import check_regular_file, parse_json_text
from search_spaces.errors import InvalidInput
from search_spaces.names import family_of

from ..io import atomic_path
from .opbench import COLUMNS, TABLE_FORMAT, metadata_line

__all__ = ["LatencyTable", "read_table", "is_table_file", "check_table_path", "REQUIRED_METADATA", "TABLE_SUFFIXES"]

#: provenance every table carries (values may say "unknown" for imported tables)
REQUIRED_METADATA = ("kind", "device", "runtime", "batch_size", "dtype", "source", "fusion")
_NUMERIC = ("latency_ms", "spread_ms", "count")
_PARQUET_KEY = TABLE_FORMAT.encode()
TABLE_SUFFIXES = (".csv", ".parquet")


class LatencyTable:
    """Per-op entries (one row per canonical op spec key) and the metadata that says how they were made."""

    def __init__(self, rows: pd.DataFrame | Iterable[Mapping[str, Any]], metadata: Mapping[str, Any], origin: str = ""):
        df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=COLUMNS)
        self.origin = origin or "table"
        self.metadata = dict(metadata)
        self.rows = self._checked(df.reset_index(drop=True))
        res = [None if pd.isna(r) else int(r) for r in self.rows["resolution"]]
        self._lookup = dict(zip(zip(self.rows["key"], res), self.rows["latency_ms"].to_numpy(dtype=np.float64)))
        self._keys = set(self.rows["key"])

    def _checked(self, df: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in ("key", *_NUMERIC) if c not in df.columns]
        if missing:
            raise InvalidInput(f"{self.origin} is not a latency table: column {missing[0]!r} is missing "
                               f"(expected {', '.join(COLUMNS)})")
        for col in _NUMERIC:
            values = pd.to_numeric(df[col], errors="coerce")
            bad = values.isna() | ~np.isfinite(values) | (values < 0)
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise InvalidInput(f"{self.origin} is corrupt: {col}={df[col].iloc[row]} in data row {row + 1} "
                                   f"({df['key'].iloc[row]}) is not a non-negative number")
            df[col] = values.astype(np.float64)
        if "resolution" not in df.columns:
            df["resolution"] = None
        raw = df["resolution"].astype(object)
        given = raw.notna() & (raw.astype(str).str.strip() != "")
        res = pd.to_numeric(raw.where(given, None), errors="coerce")
        if (given & (res.isna() | (res <= 0) | (res != res.round()))).any():
            raise InvalidInput(f"{self.origin} is corrupt: column 'resolution' must hold positive integers or nothing")
        df["resolution"] = pd.Series([None if pd.isna(r) else int(r) for r in res], index=df.index, dtype=object)
        dup = df.duplicated(["key", "resolution"])
        if dup.any():
            raise InvalidInput(f"{self.origin} lists op {df['key'][dup].iloc[0]} twice")
        missing_meta = [k for k in REQUIRED_METADATA if k not in self.metadata]
        if missing_meta:
            raise InvalidInput(f"{self.origin} lacks metadata {missing_meta[0]!r} (a table records "
                               f"{', '.join(REQUIRED_METADATA)})")
        self._check_metadata()
        return df

    def _check_metadata(self) -> None:
        """The metadata fields that models read: a hand-edited or foreign table fails here, by name."""
        from search_spaces.ops import FUSIONS

        meta = self.metadata
        if meta["fusion"] not in FUSIONS:
            raise InvalidInput(f"{self.origin} has metadata fusion={meta['fusion']!r}; known: {', '.join(FUSIONS)}")
        spaces = meta.get("spaces", [])
        if not isinstance(spaces, list) or not all(isinstance(x, str) for x in spaces):
            raise InvalidInput(f"{self.origin} has metadata spaces={spaces!r}; expected a list of space names")
        cal = meta.get("calibration")
        if cal is not None:
            ok = isinstance(cal, dict)
            try:
                ok = ok and float(cal.get("scale", 1.0)) > 0 and np.isfinite(float(cal.get("offset_ms", 0.0)))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise InvalidInput(f"{self.origin} has corrupt metadata 'calibration' (expected a positive scale and "
                                   f"a finite offset_ms); profile again or remove that field")

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def has(self, key: str, resolution: int | None = None) -> bool:
        return (key, resolution) in self._lookup or (key, None) in self._lookup

    def get(self, key: str, resolution: int | None = None, default: float = np.nan) -> float:
        """The entry for ``key`` measured in a network at ``resolution``, else the resolution-free one."""
        value = self._lookup.get((key, resolution))
        return self._lookup.get((key, None), default) if value is None else value

    def latency(self, key: str, resolution: int | None = None) -> float:
        value = self.get(key, resolution)
        if np.isnan(value):
            where = f" (in a network at r={resolution})" if resolution is not None else ""
            raise InvalidInput(f"{self.origin} has no entry for op {key}{where}")
        return value

    @property
    def keys(self) -> list[str]:
        return sorted(self._keys)

    @property
    def fusion(self) -> str:
        return str(self.metadata["fusion"])

    @property
    def spaces(self) -> list[str]:
        return list(self.metadata.get("spaces", []))

    def check_space(self, space) -> None:
        """Raise when the table says it was made for other spaces than ``space``'s family."""
        made_for = [family_of(s) for s in self.spaces]
        if made_for and space.family not in made_for:
            raise InvalidInput(f"{self.origin} was made for space {', '.join(self.spaces)}, not {space.name}")

    # ------------------------------------------------------------------- files
    def save(self, path: str | Path) -> Path:
        """Write CSV (``.csv``) or Parquet (``.parquet``) atomically."""
        path = Path(path)
        df = self.rows.copy()
        for col in COLUMNS:
            if col not in df.columns:
                df[col] = ""
        df = df[COLUMNS].sort_values(["key", "resolution"], na_position="first")
        df["resolution"] = df["resolution"].astype("Int64")
        with atomic_path(path) as tmp:
            if path.suffix == ".parquet":
                import pyarrow as pa
                import pyarrow.parquet as pq

                arrow = pa.Table.from_pandas(df, preserve_index=False)
                meta = dict(arrow.schema.metadata or {})
                meta[_PARQUET_KEY] = json.dumps(self.metadata, sort_keys=True).encode()
                pq.write_table(arrow.replace_schema_metadata(meta), tmp)
            elif path.suffix == ".csv":
                with open(tmp, "w", newline="") as f:
                    f.write(metadata_line(self.metadata))
                    df.to_csv(f, index=False)
            else:
                raise InvalidInput(f"cannot write a latency table as {path.suffix or 'a file without suffix'}; "
                                   f"use .csv or .parquet")
        return path

    def merged(self, other: "LatencyTable") -> "LatencyTable":
        """This table plus the ops of ``other`` it lacks (same metadata)."""
        mine = set(zip(self.rows["key"], self.rows["resolution"]))
        extra = other.rows[[k not in mine for k in zip(other.rows["key"], other.rows["resolution"])]]
        return LatencyTable(pd.concat([self.rows, extra], ignore_index=True), self.metadata, self.origin)

    def __repr__(self) -> str:
        return f"LatencyTable({len(self)} ops, {self.metadata.get('device')}, {self.metadata.get('runtime')})"


def is_table_file(path: Path) -> bool:
    if path.suffix == ".parquet":
        return True
    if path.suffix != ".csv":
        return False
    with open(path, "rb") as f:
        return f.read(len(TABLE_FORMAT) + 2) == f"# {TABLE_FORMAT}".encode()


def check_table_path(path: str | Path, option: str = "--out") -> Path:
    """A path a table can be written to: ``.csv`` or ``.parquet``, not a folder (checked before any work)."""
    path = Path(path)
    if path.suffix not in TABLE_SUFFIXES:
        raise InvalidInput(f"{option} {path}: a latency table is written as .csv or .parquet, "
                           f"not {path.suffix or 'a file without suffix'}")
    if path.is_dir():
        raise InvalidInput(f"{option} {path} is a folder; give the path of a table file (.csv or .parquet)")
    return path


def _metadata(raw: str | bytes, path: Path, where: str) -> dict:
    try:
        metadata = parse_json_text(raw, "it")
    except InvalidInput as exc:  # "it is not JSON (...)", "it is JSON nested too deeply ..."
        raise InvalidInput(f"{path} has corrupt metadata {where}: {exc}") from None
    if not isinstance(metadata, dict):
        raise InvalidInput(f"{path} has corrupt metadata {where} (expected a JSON object, not "
                           f"{type(metadata).__name__})")
    return metadata


def read_table(path: str | Path) -> LatencyTable:
    """Load a CSV or Parquet table; malformed, truncated or foreign files raise ``InvalidInput``."""
    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"latency table {path} is a folder, not a table file (.csv or .parquet)")
    check_regular_file(path, "latency table")
    if not path.is_file():
        raise InvalidInput(f"latency table {path} does not exist")
    if path.suffix == ".parquet":
        return _read_parquet(path)
    if path.suffix != ".csv":
        raise InvalidInput(f"{path} is not a latency table (expected .csv or .parquet)")
    text = path.read_text(errors="replace")
    first, _, body = text.partition("\n")
    if not first.startswith(f"# {TABLE_FORMAT} "):
        raise InvalidInput(f"{path} is not a latency table: its first line must be '# {TABLE_FORMAT} {{metadata}}' "
                           f"(tables are written by nas latency profile|fit|import-ofa)")
    metadata = _metadata(first[len(TABLE_FORMAT) + 3:], path, "on its first line")
    if not text.endswith("\n"):
        raise InvalidInput(f"{path} is truncated (its last line is incomplete)")
    from io import StringIO

    try:
        df = pd.read_csv(StringIO(body), dtype={"key": str, "act": str, "fused": str}, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidInput(f"{path} is corrupt: {' '.join(str(exc).split())}") from None
    return LatencyTable(_with_op_columns(df, path), metadata, origin=str(path))


def _with_op_columns(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A table file holds every op-spec column that ``save`` writes, whatever its format (a CSV and a
    Parquet file missing ``kernel`` are refused alike); ``resolution`` alone is optional."""
    missing = [c for c in COLUMNS if c != "resolution" and c not in df.columns]
    if missing:
        raise InvalidInput(f"{path} is not a latency table: column {missing[0]!r} is missing "
                           f"(expected {', '.join(COLUMNS)})")
    return df


def _read_parquet(path: Path) -> LatencyTable:
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise InvalidInput(f"{path} is not a readable Parquet latency table ({' '.join(str(exc).split())})") from None
    raw = (arrow.schema.metadata or {}).get(_PARQUET_KEY)
    if raw is None:
        raise InvalidInput(f"{path} is a Parquet file without latency-table metadata")
    metadata = _metadata(raw, path, "in its schema")
    return LatencyTable(_with_op_columns(arrow.to_pandas(), path), metadata, origin=str(path))
