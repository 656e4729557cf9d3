"""Searching for Pareto-optimal subnets: objectives, constraints, searchers, the resumable loop."""

from . import searchers as _searchers  # noqa: F401  (registers the built-in searchers)
from ._searcher import SEARCHERS, NoFeasibleSubnet, Searcher, create_searcher, list_searchers, register_searcher
from .archive import Archive
from .constraints import METRICS, Constraint, format_value, parse_constraint
from .evaluator import Evaluator
from .objectives import Objective, cost_objective, count_objective, size_objective
from .pareto import hypervolume, pareto_mask, pareto_ranks
from .run import SearchOutcome, restore_archive, run_search

__all__ = ["SEARCHERS", "Searcher", "NoFeasibleSubnet", "create_searcher", "list_searchers", "register_searcher",
           "Archive", "METRICS", "Constraint", "format_value", "parse_constraint", "Evaluator", "Objective",
           "cost_objective", "count_objective", "size_objective", "hypervolume", "pareto_mask", "pareto_ranks",
           "SearchOutcome", "restore_archive", "run_search"]
