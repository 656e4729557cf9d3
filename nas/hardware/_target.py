"""Hardware targets: named cost models that map a batch of genomes to a cost (latency, MACs, ...)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from search_spaces import Registry, SearchSpace
from search_spaces.errors import InvalidInput, UnknownName

__all__ = ["CostModel", "TARGETS", "TARGET_INFO", "register_target", "get_target", "list_targets", "target_info",
           "TARGET_FILE_LOADERS", "TARGET_FILE_SOURCES", "file_targets", "resolve_target"]


@dataclass
class CostModel:
    """A target bound to one search space: ``predict(genomes) -> [n]`` costs in ``unit``.

    ``metadata`` is the provenance every target carries: how it was made (measured, fitted or
    modeled), on which device and runtime, batch size, dtype, date, source, and its measured error.
    """

    name: str
    metric: str  # "latency", "macs", "params", ...
    unit: str  # "ms", "MACs", "params"
    space: SearchSpace
    predict_fn: Callable[[np.ndarray], np.ndarray]
    metadata: dict[str, Any] = field(default_factory=dict)

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        return np.asarray(self.predict_fn(self.space.check_genomes(genomes)), dtype=np.float64)


#: target name -> factory(space) returning a CostModel for that space
TARGETS: Registry[Callable[[SearchSpace], CostModel]] = Registry("target", entry_point_group="nas.targets")


#: target name -> provenance without building the target (``nas targets`` lists these; building the
#: ``cpu`` target may profile this machine, listing must not)
TARGET_INFO: dict[str, Callable[[], dict[str, Any]]] = {}


def register_target(name: str, *, aliases: tuple[str, ...] = (), info: Callable[[], dict[str, Any]] | None = None):
    if info is not None:
        TARGET_INFO[name] = info
    return TARGETS.register(name, aliases=aliases)


def target_info(name: str) -> dict[str, Any]:
    """Provenance of a registered target (from its ``info`` hook, else by building it on no space)."""
    canonical = TARGETS.canonical(name)
    if canonical in TARGET_INFO:
        return dict(TARGET_INFO[canonical]())
    return {"kind": "plugin", "source": getattr(TARGETS.get(canonical), "__module__", "unknown")}


def get_target(name: str, space: SearchSpace) -> CostModel:
    """The target ``name`` bound to ``space`` (raises ``UnknownName`` listing known targets)."""
    return TARGETS.get(name)(space)


def list_targets() -> list[str]:
    return TARGETS.names()


#: loaders tried, in order, when a target is given as a file path (e.g. a latency table CSV):
#: each takes (path, space) and returns a CostModel, or None when the file is not its format
TARGET_FILE_LOADERS: list[Callable[[Path, SearchSpace], "CostModel | None"]] = []

#: sources of target names backed by files (e.g. tables imported with ``nas latency import-ofa``):
#: each returns {name: path}; consulted after the registry
TARGET_FILE_SOURCES: list[Callable[[], dict[str, Path]]] = []


def file_targets() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for source in TARGET_FILE_SOURCES:
        for name, path in source().items():
            out.setdefault(name, path)
    return out


def _load_file(path: Path, space: SearchSpace) -> CostModel:
    for loader in TARGET_FILE_LOADERS:
        model = loader(path, space)
        if model is not None:
            return model
    raise InvalidInput(f"{path} is not a target file this engine can read (latency tables are CSV or Parquet)")


def resolve_target(name_or_path: str, space: SearchSpace) -> CostModel:
    """A registered target name, or the path of a target file (such as a latency table)."""
    if name_or_path in TARGETS:
        return get_target(name_or_path, space)
    path = Path(name_or_path)
    if path.suffix and path.exists():
        return _load_file(path, space)
    named = file_targets()
    if name_or_path in named:
        return _load_file(named[name_or_path], space)
    if path.suffix in (".csv", ".parquet"):
        raise InvalidInput(f"target file {path} does not exist")
    known = sorted(set(TARGETS.names()) | set(TARGETS.aliases()) | set(named))
    hint = difflib.get_close_matches(name_or_path, known, n=1)
    did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
    raise UnknownName(f"unknown target {name_or_path!r}{did_you_mean}; known: {', '.join(known)} "
                      f"(or a latency table file)")
