"""Hardware targets: named cost models that map a batch of genomes to a cost (latency, MACs, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from search_spaces import Registry, SearchSpace
from search_spaces.errors import InvalidInput

__all__ = ["CostModel", "TARGETS", "register_target", "get_target", "list_targets", "TARGET_FILE_LOADERS",
           "resolve_target"]


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


def register_target(name: str, *, aliases: tuple[str, ...] = ()):
    return TARGETS.register(name, aliases=aliases)


def get_target(name: str, space: SearchSpace) -> CostModel:
    """The target ``name`` bound to ``space`` (raises ``UnknownName`` listing known targets)."""
    return TARGETS.get(name)(space)


def list_targets() -> list[str]:
    return TARGETS.names()


#: loaders tried, in order, when a target is given as a file path (e.g. a latency table CSV):
#: each takes (path, space) and returns a CostModel, or None when the file is not its format
TARGET_FILE_LOADERS: list[Callable[[Path, SearchSpace], "CostModel | None"]] = []


def resolve_target(name_or_path: str, space: SearchSpace) -> CostModel:
    """A registered target name, or the path of a target file (such as a latency table)."""
    if name_or_path in TARGETS:
        return get_target(name_or_path, space)
    path = Path(name_or_path)
    if path.suffix and path.exists():
        for loader in TARGET_FILE_LOADERS:
            model = loader(path, space)
            if model is not None:
                return model
        raise InvalidInput(f"{path} is not a target file this engine can read (latency tables are CSV or Parquet)")
    return get_target(name_or_path, space)  # raises UnknownName listing the known targets
