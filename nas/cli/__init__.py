"""The ``nas`` command line. Each module registers its commands on the shared app."""

from __future__ import annotations

from . import benchmark, evaluate, export, latency, predictor, search, spaces, targets, train  # noqa: F401  (register commands)
from ._common import app

__all__ = ["app", "main"]


def main() -> None:
    app(prog_name="nas")
