"""Metric units and constraint strings such as ``latency<=20ms``, ``params<=5M``, ``accuracy>=75%``.

``<`` and ``>`` are strict: a subnet exactly at the bound violates them (by the smallest positive
amount, so every searcher, pymoo and Optuna included, sees it as infeasible).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidConstraint

__all__ = ["METRICS", "Constraint", "parse_constraint", "format_value"]

#: metric -> (canonical unit shown to users, {accepted unit suffix: factor to the canonical unit})
METRICS: dict[str, tuple[str, dict[str, float]]] = {
    "accuracy": ("%", {"": 1.0, "%": 1.0}),
    "latency": ("ms", {"": 1.0, "ms": 1.0, "us": 1e-3, "s": 1e3}),
    "macs": ("MACs", {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9}),
    "params": ("params", {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9}),
    "size": ("MB", {"": 1.0, "mb": 1.0, "kb": 1e-3, "gb": 1e3}),
}
_ALIASES = {"top1": "accuracy", "acc": "accuracy", "flops": "macs", "lat": "latency", "model_size": "size"}
OPS = ("<=", ">=", "<", ">")
_PATTERN = re.compile(r"^\s*([a-zA-Z_0-9]+)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z%]*)\s*$")


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str  # one of OPS; "<" and ">" are strict
    bound: float  # in the metric's canonical unit
    text: str

    def __post_init__(self):
        if self.op not in OPS:
            raise InvalidConstraint(f"unknown comparison {self.op!r} in constraint {self.text!r}; use {', '.join(OPS)}")

    def violation(self, values: np.ndarray) -> np.ndarray:
        """<= 0 when satisfied; otherwise the relative distance to the bound (pymoo's convention)."""
        scale = abs(self.bound) if self.bound else 1.0
        diff = (values - self.bound if self.op.startswith("<") else self.bound - values) / scale
        if len(self.op) == 1:  # strict: the bound itself is not allowed
            diff = np.where(diff >= 0, np.maximum(diff, np.finfo(np.float64).tiny), diff)
        return diff

    def satisfied(self, values: np.ndarray) -> np.ndarray:
        return self.violation(values) <= 0

    def __str__(self) -> str:
        return self.text


def parse_constraint(text: str) -> Constraint:
    """Parse ``<metric><op><number><unit>``; raise ``InvalidConstraint`` naming what is allowed."""
    m = _PATTERN.match(text)
    allowed = ", ".join(METRICS)
    if not m:
        raise InvalidConstraint(
            f"cannot parse constraint {text!r}; expected METRIC<=VALUE[UNIT] such as latency<=20ms, "
            f"params<=5M, macs<=300M, accuracy>=75% (metrics: {allowed})"
        )
    name, op, number, unit = m.groups()
    metric = _ALIASES.get(name.lower(), name.lower())
    if metric not in METRICS:
        raise InvalidConstraint(f"unknown metric {name!r} in constraint {text!r}; known metrics: {allowed}")
    canonical_unit, factors = METRICS[metric]
    key = unit.lower()
    if key == canonical_unit.lower():
        key = ""
    if key not in factors:
        units = ", ".join(u for u in factors if u) or canonical_unit
        raise InvalidConstraint(f"unknown unit {unit!r} for {metric} in {text!r}; allowed units: {units}")
    bound = float(number) * factors[key]
    text = text.strip()
    if not np.isfinite(bound):  # 1e400 parses as inf: refused as macs<=inf is, not a search nothing satisfies
        raise InvalidConstraint(f"constraint {text!r}: the bound is too large to be a number (it overflows to "
                                f"infinity); give a finite bound or drop the constraint")
    _check_bound(metric, op, bound, unit, text)
    return Constraint(metric, op, bound, text)


def _check_bound(metric: str, op: str, bound: float, unit: str, text: str) -> None:
    """Bounds no subnet can meet, or that surely meant something else, are errors before any search."""
    if metric == "accuracy":
        if bound > 100:
            raise InvalidConstraint(f"constraint {text!r}: accuracy is top-1 in percent, so its bound must be "
                                    f"between 0% and 100%")
        if not unit and 0 < bound <= 1:  # a fraction, most likely: 0.75 for 75%
            raise InvalidConstraint(f"constraint {text!r}: accuracy is in percent, so this means {bound:g}%; "
                                    f"write accuracy{op}{bound * 100:g}% (or accuracy{op}{bound:g}% if you mean "
                                    f"{bound:g}%)")
    elif op.startswith("<") and bound <= 0:
        raise InvalidConstraint(f"constraint {text!r}: no subnet has {metric} {op} 0; the bound must be positive")


def format_value(metric: str, value: float) -> str:
    """Human-readable value in the metric's usual unit (e.g. ``219.3M`` MACs, ``12.41 ms``)."""
    if not np.isfinite(value):
        return str(value)
    if metric in ("macs", "params"):
        for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
            if abs(value) >= factor:
                return f"{value / factor:.2f}{suffix}"
        return f"{value:.0f}"
    if metric == "latency":
        return f"{value:.3g} ms" if value < 10 else f"{value:.1f} ms"
    if metric == "accuracy":
        return f"{value:.2f}%"
    if metric == "size":
        return f"{value:.2f} MB"
    return f"{value:.4g}"
