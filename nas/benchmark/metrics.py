"""How close a search got to the exact Pareto front of a fully enumerated benchmark.

With every cell's (error, latency) known, the exact front is the non-dominated set of all cells.
A searcher's result after a budget of unique evaluated cells is scored by:

* **region hypervolume ratio**: HV(found front) / HV(exact front), both up to the reference point
  (best error on the exact front + 15 points, 1.1 x the largest latency among exact-front cells
  within that error): the part of the front anyone would deploy. (A far reference point such as
  [100, 1.1 x max latency] gives ~0.99 even to random search, so it is not the headline.)
* **recall**: the share of exact-front cells the searcher evaluated.
* **IGD+** (pymoo) of the found front to the exact front, with both objectives scaled to the
  region (ideal point -> 0, reference point -> 1) so error points and milliseconds weigh alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pymoo.indicators.igd_plus import IGDPlus

from ..search.pareto import hypervolume, pareto_mask

__all__ = ["ExactFront", "REGION_ERROR_POINTS", "REGION_LATENCY_FACTOR"]

REGION_ERROR_POINTS = 15.0
REGION_LATENCY_FACTOR = 1.1


@dataclass
class ExactFront:
    """The exact front of ``F`` (``[n_cells, 2]``: error, latency) and the scores of found sets."""

    F: np.ndarray

    def __post_init__(self):
        self.F = np.asarray(self.F, dtype=np.float64)
        self.cells = np.flatnonzero(pareto_mask(self.F))
        front = self.F[self.cells]
        best_error = front[:, 0].min()
        within = front[front[:, 0] <= best_error + REGION_ERROR_POINTS]
        self.reference = np.array([best_error + REGION_ERROR_POINTS, REGION_LATENCY_FACTOR * within[:, 1].max()])
        self.ideal = front.min(axis=0)
        self.hv = hypervolume(front, self.reference)
        self._igd = IGDPlus(self._scale(np.unique(front, axis=0)))

    def _scale(self, F: np.ndarray) -> np.ndarray:
        return (F - self.ideal) / (self.reference - self.ideal)

    def score(self, found: np.ndarray) -> dict[str, float]:
        """Scores of the evaluated cells ``found`` (cell indices, any order, repeats ignored)."""
        found = np.unique(np.asarray(found, dtype=np.int64))
        if found.size == 0:
            return {"hv_ratio": 0.0, "recall": 0.0, "igd_plus": float("inf"), "front_found": 0}
        F = self.F[found]
        front = F[pareto_mask(F)]
        hits = np.isin(self.cells, found)
        return {
            "hv_ratio": hypervolume(front, self.reference) / self.hv,
            "recall": float(hits.mean()),
            "igd_plus": float(self._igd(self._scale(front))),
            "front_found": int(hits.sum()),
        }

    def curve(self, evaluated: np.ndarray, budgets: list[int]) -> dict[str, list[float]]:
        """Scores after the first ``b`` evaluated cells (in evaluation order) for each budget ``b``."""
        scores = [self.score(evaluated[:b]) for b in budgets]
        return {k: [s[k] for s in scores] for k in ("hv_ratio", "recall", "igd_plus")}

    def summary(self) -> dict:
        return {"front_cells": int(len(self.cells)), "reference": self.reference.tolist(),
                "ideal": self.ideal.tolist(), "hypervolume": self.hv}
