"""The engine that runs: hardware targets, search, training, evaluation, export, results, CLI."""

__version__ = "0.1.0"
