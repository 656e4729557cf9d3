"""Built-in searchers (each registers itself)."""

from . import bayesian, evolution, linas, nsga2, optuna_search, random  # noqa: F401
