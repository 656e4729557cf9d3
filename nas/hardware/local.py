"""Targets backed by files on this machine: the ``cpu`` profile, tables saved by name, table paths."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from search_spaces import SearchSpace
from search_spaces.errors import InvalidInput

from . import opbench
from ._target import TARGET_FILE_LOADERS, TARGET_FILE_SOURCES, CostModel, register_target
from .calibration import calibrate_table
from .model import LatencyModel
from .opspec import structured
from .profiling import cache_dir, profile_space
from .table import LatencyTable, read_table

__all__ = ["CPU_SETTINGS", "cpu_profile_path", "cpu_table", "targets_dir", "saved_tables", "save_named_table",
           "check_target_name", "table_target"]

#: how the ``cpu`` target measures: TorchScript (frozen), batch 1, fp32, one thread (multi-threaded
#: batch-1 timings of small kernels swing 2x with OpenMP wake-ups and any background load)
CPU_SETTINGS = {"runtime": "torchscript", "batch": 1, "dtype": "float32", "threads": 1, "warmup": 10, "repeats": 30,
                "calibrate": 20}


def cpu_profile_path(threads: int | None = None) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", opbench.device_name("cpu").lower()).strip("-")[:60]
    s = CPU_SETTINGS
    return cache_dir() / "profiles" / f"cpu-{slug}-{s['runtime']}-b{s['batch']}-t{threads or s['threads']}.csv"


def cpu_table(space: SearchSpace, progress: bool = True) -> LatencyTable:
    """This machine's cached profile, extended with the ops of ``space`` it lacks (measured now) and
    calibrated end to end once."""
    path = cpu_profile_path()
    table = read_table(path) if path.is_file() else None
    needed = structured(space).structure("block").unique_ops()
    s = CPU_SETTINGS
    if table is None or not all(k in table for k in needed) or space.family not in table.spaces:
        if progress:
            print(f"cpu target: profiling the ops of {space.name} on this machine (first use, about "
                  f"{max(1, len(needed) // 12)} s; cached in {path})", file=sys.stderr)
        table, _ = profile_space(space, path, runtime=s["runtime"], batch=s["batch"], dtype=s["dtype"],
                                 threads=s["threads"], warmup=s["warmup"], repeats=s["repeats"], progress=progress)
    if s["calibrate"] and "calibration" not in table.metadata:
        if progress:
            print(f"cpu target: timing {s['calibrate']} subnets end to end to calibrate the profile", file=sys.stderr)
        table = calibrate_table(path, space, s["calibrate"])
    return table


def _cpu_info() -> dict:
    path = cpu_profile_path()
    info = {"kind": "measured", "device": opbench.device_name("cpu"), "runtime": CPU_SETTINGS["runtime"],
            "batch_size": CPU_SETTINGS["batch"], "threads": CPU_SETTINGS["threads"],
            "source": f"profiled on this machine on first use, cached in {path}"}
    if path.is_file():
        try:
            meta = read_table(path).metadata
            info.update({k: meta[k] for k in ("date", "spaces", "measured_error", "calibration") if k in meta})
        except InvalidInput as exc:
            info["problem"] = str(exc)
    else:
        info["status"] = "not profiled yet (runs on first use, or: nas latency profile --space S --device cpu)"
    return info


@register_target("cpu", info=_cpu_info)
def cpu_target(space: SearchSpace) -> CostModel:
    return LatencyModel(cpu_table(space), space).cost_model("cpu")


# ------------------------------------------------------------------------ named and file tables
def targets_dir() -> Path:
    return cache_dir() / "targets"


def saved_tables() -> dict[str, Path]:
    """Tables saved by name (``nas latency import-ofa --name``, ``fit --name``): usable as ``--target NAME``."""
    folder = targets_dir()
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix in (".csv", ".parquet") and p.is_file()}


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*")


def check_target_name(name: str, saving: bool = True) -> str:
    """``name`` if it can name a saved table (``--target NAME``); ``saving`` also refuses built-in names."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or Path(name).suffix in (".csv", ".parquet"):
        raise InvalidInput(f"invalid target name {name!r}: use letters, digits, '_', '-' and '.', starting with a "
                           f"letter or digit and not ending in .csv/.parquet (e.g. note10, orin-nano_fp16)")
    from ._target import TARGETS

    if saving and name in TARGETS:
        raise InvalidInput(f"{name!r} is a built-in target; pick another --name")
    return name


def save_named_table(table: LatencyTable, name: str) -> Path:
    check_target_name(name)
    table.metadata["name"] = name
    return table.save(targets_dir() / f"{name}.csv")


def table_target(path: Path, space: SearchSpace) -> CostModel | None:
    if path.suffix not in (".csv", ".parquet"):
        return None
    table = read_table(path)
    name = table.metadata.get("name") or path.stem
    return LatencyModel.covering(table, space).cost_model(str(name), {"table": str(path)})


TARGET_FILE_LOADERS.append(table_target)
TARGET_FILE_SOURCES.append(saved_tables)
