"""Built-in searchers (each registers itself)."""

from . import evolution, linas, nsga2, optuna_search, random  # noqa: F401
