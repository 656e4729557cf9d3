"""The ``nas`` command line. Each module registers its commands on the shared app."""

from __future__ import annotations

from . import export, latency, search, spaces, targets  # noqa: F401  (register commands)
from ._common import app

__all__ = ["app", "main"]


def main() -> None:
    app(prog_name="nas")
