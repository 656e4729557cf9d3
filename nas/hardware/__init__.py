"""Hardware targets: what a subnet costs on a device (latency tables, calibrated models, MACs, params).

Built-in targets: ``macs``, ``params`` (computed), ``cpu`` (this machine, profiled on first use and
cached), ``jetson-orin-nano`` / ``jetson`` (a TensorRT model calibrated on measured layers). Any
latency table file (CSV / Parquet) is a target too, as is a table saved by name.
"""

from . import counting as _counting  # noqa: F401  (registers macs, params)
from . import jetson as _jetson  # noqa: F401  (registers jetson-orin-nano)
from . import local as _local  # noqa: F401  (registers cpu, table files and named tables)
from ._target import (
                      TARGET_FILE_LOADERS,
                      TARGET_FILE_SOURCES,
                      TARGET_INFO,
                      TARGETS,
                      CostModel,
                      file_targets,
                      get_target,
                      list_targets,
                      register_target,
                      resolve_target,
                      target_info,
)
from .fit import LatencyFit, fit_table
from .model import LatencyModel, latency_target
from .opspec import FUSIONS, OpSpec
from .table import LatencyTable, read_table

__all__ = ["CostModel", "TARGETS", "TARGET_INFO", "TARGET_FILE_LOADERS", "TARGET_FILE_SOURCES", "get_target",
           "list_targets", "register_target", "resolve_target", "target_info", "file_targets", "LatencyTable",
           "read_table", "LatencyModel", "latency_target", "LatencyFit", "fit_table", "OpSpec", "FUSIONS"]
