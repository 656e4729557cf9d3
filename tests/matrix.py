"""The registered spaces the slow matrices run (supernet contract, export, space x strategy, cpu target).

A variant of a large network adds that network's time again for a difference a small variant already
covers: ``vit-resnas-tiny-plain`` differs from ``vit-resnas-tiny`` only in its two plain reductions, which
``vit-resnas-cifar-plain`` covers in every matrix (the tiny one would add about 2.3 minutes on two cores:
40 s of supernet contract, 50 s of strategies, 25 s each of export and cpu profiling). The fast
space-level suites still run every registered space.
"""

from __future__ import annotations

from typing import Iterable

__all__ = ["COVERED_BY_A_SMALLER_VARIANT", "matrix_spaces"]

COVERED_BY_A_SMALLER_VARIANT = frozenset({"vit-resnas-tiny-plain"})


def matrix_spaces(names: Iterable[str]) -> list[str]:
    return [n for n in names if n not in COVERED_BY_A_SMALLER_VARIANT]
