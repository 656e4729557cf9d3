"""Hardware targets: what a subnet costs on a device (latency tables, calibrated models, MACs, params)."""

from . import counting as _counting  # noqa: F401  (registers macs, params)
from ._target import TARGET_FILE_LOADERS, TARGETS, CostModel, get_target, list_targets, register_target, resolve_target

__all__ = ["CostModel", "TARGETS", "TARGET_FILE_LOADERS", "get_target", "list_targets", "register_target",
           "resolve_target"]
