"""The root of the engine's one error hierarchy.

It lives in the lowest package so that every other package (supernets, predictors, nas) can raise
and catch the same types; ``nas.errors`` re-exports all of them for users. The CLI turns any
``NasError`` into a one-line message and exit code 2.
"""

from __future__ import annotations

__all__ = [
    "NasError",
    "InvalidArchitecture",
    "InvalidInput",
    "UnknownName",
    "DuplicateName",
    "NotSupported",
    "CheckpointError",
]


class NasError(Exception):
    """A user mistake or bad input, reported in one line without a traceback."""


class InvalidArchitecture(NasError, ValueError):
    """An architecture (dict or genome) that its search space does not allow."""


class InvalidInput(NasError, ValueError):
    """A malformed file, config, table, checkpoint or argument."""


class UnknownName(NasError, LookupError):
    """A registry lookup for a name that nobody registered."""


class DuplicateName(NasError, ValueError):
    """A second registration under a name that is already taken."""


class NotSupported(NasError, NotImplementedError):
    """A capability that this space, supernet or target does not offer."""


class CheckpointError(InvalidInput):
    """A checkpoint that is corrupt, truncated, or made for another space or supernet."""
