"""Benchmarks of the searchers against exact Pareto fronts of fully enumerated tabular spaces."""

from .metrics import ExactFront
from .nb201 import DATASETS, NB201Table
from .runner import BASELINE, NB201_OPTIONS, resolve_searchers, run_nb201

__all__ = ["ExactFront", "NB201Table", "DATASETS", "BASELINE", "NB201_OPTIONS", "run_nb201", "resolve_searchers"]
