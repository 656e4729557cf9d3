"""Supernet training strategies (a registry): progressive-shrinking, deps, sandwich, balanced-mixture, spos,
standalone, multi-arch."""

from . import balanced_mixture as _bms  # noqa: F401  (registers the built-in strategies)
from . import deps as _deps  # noqa: F401
from . import multi_arch as _multi_arch  # noqa: F401
from . import progressive_shrinking as _ps  # noqa: F401
from . import sandwich as _sandwich  # noqa: F401
from . import standalone as _standalone  # noqa: F401
from .base import (
                   REORGANIZE,
                   RESET_OPTIMIZER,
                   SNAPSHOT_TEACHER,
                   STRATEGIES,
                   Strategy,
                   SubnetTask,
                   create_strategy,
                   list_strategies,
                   register_strategy,
)

__all__ = ["Strategy", "SubnetTask", "STRATEGIES", "register_strategy", "create_strategy", "list_strategies",
           "SNAPSHOT_TEACHER", "REORGANIZE", "RESET_OPTIMIZER"]
