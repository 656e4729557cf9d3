"""Objectives: vectorized functions from a batch of genomes to one float per genome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from search_spaces import SearchSpace

from ..hardware import CostModel

__all__ = ["Objective", "cost_objective", "count_objective", "size_objective"]


@dataclass
class Objective:
    """One named metric of a subnet: ``fn(genomes [n, n_genes]) -> [n]`` in canonical units.

    ``direction`` says what "better" means; ``expensive`` marks objectives (such as a supernet
    evaluation) that searchers like LINAS should call sparingly and model with cheap predictors.
    """

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    direction: str = "min"  # "min" or "max"
    unit: str = ""
    expensive: bool = False
    source: str = ""
    metadata: dict = field(default_factory=dict)
    release: Callable[[], None] | None = None  # frees what ``fn`` holds (e.g. Ray actors) once a run is done

    def __post_init__(self):
        if self.direction not in ("min", "max"):
            raise ValueError(f"objective direction must be 'min' or 'max', got {self.direction!r}")

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        values = np.asarray(self.fn(genomes), dtype=np.float64).reshape(-1)
        if values.shape[0] != len(genomes):
            raise ValueError(f"objective {self.name} returned {values.shape[0]} values for {len(genomes)} genomes")
        return values

    def to_minimize(self, values: np.ndarray) -> np.ndarray:
        return -values if self.direction == "max" else values


def cost_objective(model: CostModel) -> Objective:
    """A hardware target's cost (latency, MACs, params) as a minimized objective."""
    kind = model.metadata.get("kind", "")
    return Objective(model.metric, model.predict, "min", model.unit,
                     source=f"target {model.name}" + (f" ({kind})" if kind else ""), metadata=dict(model.metadata))


def count_objective(space: SearchSpace, metric: str) -> Objective:
    """MACs or params computed from the arch (exact), e.g. for constraints beside a latency target."""
    return Objective(metric, lambda g: space.count(g)[metric], "min", "MACs" if metric == "macs" else "params",
                     source="computed from the arch")


def size_objective(space: SearchSpace) -> Objective:
    """Model size in MB: weights at their bit widths with their scales on a quantized space (``S+q``), else
    4 bytes per parameter."""
    from search_spaces.quantization import QuantizedSpace, bit_counts

    source = "weights at their bits + scales" if isinstance(space, QuantizedSpace) else "params x 4 bytes"
    return Objective("size", lambda g: bit_counts(space, g)["bytes"] / 1e6, "min", "MB", source=source)
