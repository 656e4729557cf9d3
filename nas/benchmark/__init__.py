"""Benchmarks of the searchers against exact Pareto fronts of fully enumerated tabular spaces."""

from .aggregate import aggregate
from .metrics import ExactFront
from .nb201 import DATASETS, NB201Table
from .pairs import PAIR_SETS, parse_pairs
from .runner import BASELINE, NB201_OPTIONS, resolve_searchers, run_nb201, run_pairs

__all__ = ["ExactFront", "NB201Table", "DATASETS", "BASELINE", "NB201_OPTIONS", "PAIR_SETS", "aggregate",
           "parse_pairs", "run_nb201", "run_pairs", "resolve_searchers"]
