"""Every error the engine raises for user mistakes, in one hierarchy rooted at ``NasError``.

The root types live in ``search_spaces.errors`` (the lowest package, so every package shares them);
this module gathers them with the engine-level ones for users to catch.
"""

from search_spaces.errors import (
    CheckpointError,
    DuplicateName,
    InvalidArchitecture,
    InvalidInput,
    NasError,
    NotSupported,
    UnknownName,
)

__all__ = [
    "NasError",
    "InvalidArchitecture",
    "InvalidInput",
    "UnknownName",
    "DuplicateName",
    "NotSupported",
    "CheckpointError",
    "InvalidConstraint",
    "RunDirectoryError",
    "RayUnavailable",
]


class InvalidConstraint(InvalidInput):
    """A constraint string such as ``latency<=20ms`` that cannot be parsed or applied."""


class RunDirectoryError(InvalidInput):
    """A run directory that is missing, incomplete, or was made for another space or setup."""


class RayUnavailable(NasError):
    """Ray could not start here or reach its cluster (a raylet that timed out on a loaded machine, say)."""
