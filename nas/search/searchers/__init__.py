"""Built-in searchers (each registers itself)."""

from . import evolution, random  # noqa: F401
