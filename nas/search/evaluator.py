"""The evaluator turns genomes into metric values, the minimization matrix F and constraint violations G."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from search_spaces import SearchSpace

from ..errors import InvalidConstraint, InvalidInput
from .constraints import Constraint
from .objectives import Objective

__all__ = ["Evaluator"]


class Evaluator:
    """Evaluates ``metrics`` (every value a run records), of which ``objectives`` are optimized.

    Searchers see ``F`` (objectives, all minimized: "max" objectives are negated) and ``G``
    (constraint violations, <= 0 when satisfied), pymoo's conventions.
    """

    def __init__(self, space: SearchSpace, objectives: Sequence[Objective], metrics: Sequence[Objective] = (),
                 constraints: Sequence[Constraint] = ()):
        if not objectives:
            raise InvalidInput("an evaluator needs at least one objective")
        names = [o.name for o in objectives]
        if len(set(names)) < len(names):
            repeated = next(n for i, n in enumerate(names) if n in names[:i])
            raise InvalidInput(f"objective {repeated!r} is given twice; each objective must be a different metric")
        self.space = space
        self.objectives = list(objectives)
        by_name: dict[str, Objective] = {}
        for m in [*objectives, *metrics]:
            by_name.setdefault(m.name, m)
        self.metrics = by_name
        self.constraints = list(constraints)
        for c in self.constraints:
            if c.metric not in self.metrics:
                have = ", ".join(self.metrics)
                raise InvalidConstraint(
                    f"constraint {c} needs the metric {c.metric!r}, which this run cannot provide "
                    f"(it provides: {have}); choose a target or accuracy source that provides {c.metric}"
                )

    @property
    def metric_names(self) -> list[str]:
        return list(self.metrics)

    @property
    def objective_names(self) -> list[str]:
        return [o.name for o in self.objectives]

    @property
    def cheap_constraints(self) -> bool:
        """True when every constraint can be checked without an expensive evaluation."""
        return all(not self.metrics[c.metric].expensive for c in self.constraints)

    def evaluate(self, genomes: np.ndarray) -> dict[str, np.ndarray]:
        genomes = self.space.check_genomes(genomes)
        if len(genomes) == 0:
            return {name: np.empty(0) for name in self.metrics}
        return {name: metric(genomes) for name, metric in self.metrics.items()}

    def F(self, values: dict[str, np.ndarray]) -> np.ndarray:
        return np.stack([o.to_minimize(values[o.name]) for o in self.objectives], axis=1)

    def G(self, values: dict[str, np.ndarray]) -> np.ndarray:
        n = len(next(iter(values.values()))) if values else 0
        if not self.constraints:
            return np.zeros((n, 0))
        return np.stack([c.violation(values[c.metric]) for c in self.constraints], axis=1)

    def is_feasible(self, genomes: np.ndarray) -> np.ndarray:
        """Check the constraints only (evaluates just the metrics they need)."""
        if not self.constraints:
            return np.ones(len(genomes), dtype=bool)
        needed = {c.metric for c in self.constraints}
        values = {name: self.metrics[name](genomes) for name in needed}
        return np.all([c.satisfied(values[c.metric]) for c in self.constraints], axis=0)
