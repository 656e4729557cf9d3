"""Measured subnets from results CSVs: DyNAS-T's (``Sub-network`` as a Python-dict string, ``Top-1 Acc (%)``)
and this engine's own ``results.csv`` (``config`` as JSON, ``accuracy``), de-duplicated by canonical arch."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from search_spaces import SearchSpace, get_space
from search_spaces.checks import parse_json_text
from search_spaces.errors import InvalidArchitecture, InvalidInput

__all__ = ["LabelledSubnets", "read_subnets", "DYNAST_LABEL", "ENGINE_LABEL"]

DYNAST_LABEL = "Top-1 Acc (%)"
ENGINE_LABEL = "accuracy"


@dataclass
class LabelledSubnets:
    """Genomes of ``space`` with one measured label each; ``groups`` ties rows of the same canonical arch."""

    space: SearchSpace
    genomes: np.ndarray
    y: np.ndarray
    label: str
    sources: list[str]
    repeats: np.ndarray = field(default=None)  # measurements averaged into each row (1 before de-duplication)

    def __post_init__(self):
        if self.repeats is None:
            self.repeats = np.ones(len(self.y), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def groups(self) -> np.ndarray:
        """An int per row; rows with the same canonical arch share it (for grouped cross-validation)."""
        return np.unique(self.space.keys_of(self.genomes), return_inverse=True)[1].reshape(-1)

    def deduplicate(self) -> "LabelledSubnets":
        """One row per canonical arch, labelled with the mean of its measurements."""
        groups = self.groups
        first = np.full(int(groups.max()) + 1 if len(groups) else 0, len(groups), dtype=np.int64)
        np.minimum.at(first, groups, np.arange(len(groups)))
        weight = self.repeats.astype(np.float64)
        total = np.bincount(groups, weights=weight, minlength=len(first))
        mean = np.bincount(groups, weights=self.y * weight, minlength=len(first)) / np.maximum(total, 1)
        return LabelledSubnets(self.space, self.space.canonical(self.genomes[first]), mean, self.label, self.sources,
                               total.astype(np.int64))

    def repeat_noise(self) -> dict[str, float]:
        """How much repeated measurements of one arch differ: std and max |deviation| from their mean."""
        groups = self.groups
        counts = np.bincount(groups)
        mean = np.bincount(groups, weights=self.y) / counts
        dev = (self.y - mean[groups])[counts[groups] > 1]
        if dev.size == 0:
            return {"repeated_archs": 0}
        return {"repeated_archs": int((counts > 1).sum()), "std": float(np.sqrt(np.mean(dev**2))),
                "max_abs": float(np.abs(dev).max())}


def read_subnets(paths: str | Path | Sequence[str | Path], space: SearchSpace | str, label: str | None = None,
                 narrow: bool = True) -> LabelledSubnets:
    """Read one or more results CSVs into genomes and labels.

    With ``narrow``, a single-valued choice the space lets vary (e.g. every row at resolution 224)
    narrows the space to that value (``ofa-mbv3`` -> ``ofa-mbv3[r=224]``): a predictor cannot learn
    what the data never shows.
    """
    space = get_space(space) if isinstance(space, str) else space
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not paths:
        raise InvalidInput(f"no data files given; {_EXPECTED}")
    archs: list[dict] = []
    labels: list[np.ndarray] = []
    sources: list[str] = []
    used_label = None
    for path in paths:
        file_archs, y, used_label = _read_one(path, space, label)
        archs += file_archs
        labels.append(y)
        sources.append(path.name)
    if narrow:
        space = _narrowed(space, archs)
    genomes = np.empty((len(archs), space.n_genes), dtype=np.int64)
    offsets = np.cumsum([0] + [len(y) for y in labels])
    for i, arch in enumerate(archs):
        try:
            genomes[i] = space.encode(arch)
        except InvalidArchitecture as exc:
            file_index = int(np.searchsorted(offsets, i, side="right") - 1)
            row = i - offsets[file_index] + 2  # 1-based, after the header line
            raise InvalidArchitecture(f"{paths[file_index].name} line {row}: {exc}") from None
    return LabelledSubnets(space, genomes, np.concatenate(labels), used_label, sources)


_EXPECTED = ("expected a results CSV file: DyNAS-T's (column 'Sub-network') or this engine's results.csv "
             "(column 'config')")


def _read_one(path: Path, space: SearchSpace, label: str | None) -> tuple[list[dict], np.ndarray, str]:
    if path.is_dir():
        csvs = sorted(p.name for p in path.glob("*.csv"))
        if not csvs:
            empty = "an empty directory" if not any(path.iterdir()) else "a directory with no CSV files"
            raise InvalidInput(f"data path {path} is {empty}; {_EXPECTED}")
        shown = ", ".join(csvs[:4]) + (", ..." if len(csvs) > 4 else "")
        raise InvalidInput(f"data path {path} is a directory; {_EXPECTED}: pass the CSV files it holds ({shown}) "
                           f"one by one")
    if not path.exists():
        raise InvalidInput(f"data file {path} does not exist; {_EXPECTED}")
    if not path.is_file():
        raise InvalidInput(f"data path {path} is not a regular file; {_EXPECTED}")
    try:
        df = pd.read_csv(path, dtype={"config": str, "Sub-network": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path} is not a readable CSV ({' '.join(str(exc).split())}); {_EXPECTED}") from None
    if not isinstance(df.index, pd.RangeIndex):  # pandas makes the extra leading fields of long rows an index
        raise InvalidInput(f"{path.name} has rows with more fields than its header's {len(df.columns)} columns "
                           f"({', '.join(map(str, df.columns))}); quote cells that contain commas")
    if "Sub-network" in df:
        column, parse, default_label = "Sub-network", _parse_dynast, DYNAST_LABEL
    elif "config" in df:
        column, parse, default_label = "config", _parse_engine, ENGINE_LABEL
    else:
        raise InvalidInput(f"{path.name} is neither a DyNAS-T results CSV (column 'Sub-network') nor this engine's "
                           f"results.csv (column 'config'); columns: {', '.join(map(str, df.columns))}")
    label = label or default_label
    if label not in df:
        raise InvalidInput(f"{path.name} has no label column {label!r}; columns: {', '.join(map(str, df.columns))}")
    y = pd.to_numeric(df[label], errors="coerce").to_numpy(np.float64)
    missing = np.flatnonzero(~np.isfinite(y))
    if missing.size:
        raise InvalidInput(f"{path.name}: {missing.size} rows have no numeric {label!r} value "
                           f"(first at line {missing[0] + 2})")
    archs = []
    for i, text in enumerate(df[column].tolist()):
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(f"{path.name} line {i + 2}: the {column} cell is empty; every row needs an architecture")
        try:
            archs.append(parse(text, space))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
            raise InvalidInput(f"{path.name} line {i + 2}: cannot read {column} {text[:60]!r}: {exc}") from None
    return archs, y, label


def _parse_dynast(text: Any, space: SearchSpace) -> dict:
    try:
        arch = ast.literal_eval(text)  # a Python dict literal; literal_eval never runs code
    except (ValueError, SyntaxError):
        arch = None
    if not isinstance(arch, dict):
        raise ValueError(f"not a Python dict literal with keys {', '.join(map(repr, space.keys))}")
    if arch.get("wid") is None and "wid" not in space.keys:
        arch.pop("wid", None)  # DyNAS-T writes 'wid': None for spaces without elastic width
    return arch


def _parse_engine(text: Any, space: SearchSpace) -> dict:
    arch = parse_json_text(text, "the cell")  # an InvalidInput, a ValueError: the caller names the line
    if not isinstance(arch, dict):
        raise ValueError(f"not a JSON object with keys {', '.join(json.dumps(k) for k in space.keys)}")
    return arch


def _narrowed(space: SearchSpace, archs: list[dict]) -> SearchSpace:
    keep = {}
    for c in space.choices:
        if c.count != 1 or not c.varies or not archs:
            continue
        values = {_scalar(a.get(c.key)) for a in archs}
        if len(values) == 1:
            value = values.pop()
            if value in c.options:
                keep[c.key] = [value]
    return space.restrict(**keep) if keep else space


def _scalar(value: Any) -> Any:
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    try:
        hash(value)
    except TypeError:
        return None
    return value
