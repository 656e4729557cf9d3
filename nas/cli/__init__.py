"""The ``nas`` command line. Each module registers its commands on the shared app."""

from __future__ import annotations

from . import (  # noqa: F401  (register commands)
    analyze,
    benchmark,
    evaluate,
    export,
    latency,
    nni_space,
    predictor,
    search,
    spaces,
    targets,
    train,
    tune,
)
from ._common import app

__all__ = ["app", "main"]


def main() -> None:
    app(prog_name="nas")
