"""Built-in searchers (each registers itself)."""

from . import bayesian, bo_botorch, bo_gp, evolution, linas, nsga2, optuna_search, random  # noqa: F401
