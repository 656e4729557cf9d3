"""Targets backed by files on this machine: the ``cpu`` profile, tables saved by name, table paths."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from search_spaces import SearchSpace
from search_spaces.errors import InvalidInput

from . import opbench
from ._target import TARGET_FILE_LOADERS, TARGET_FILE_SOURCES, CostModel, register_target
from .calibration import calibrate_table
from .model import LatencyModel
from .opspec import kernel_dtype, structured
from .profiling import cache_dir, profile_space
from .table import LatencyTable, read_table

__all__ = ["CPU_SETTINGS", "CPU_TARGETS", "cpu_profile_path", "cpu_table", "targets_dir", "saved_tables",
           "save_named_table", "check_target_name", "table_target", "check_table_runtime", "target_runtime"]

#: how the ``cpu`` targets measure: batch 1, fp32, one thread (multi-threaded batch-1 timings of small
#: kernels swing 2x with OpenMP wake-ups and any background load); ``runtime`` is the ``cpu`` target's
#: (each ``cpu-*`` target has its own, ``CPU_TARGETS``); ``fit_subnets``: the whole subnets timed to fit
#: the table of a runtime that is not profiled op by op (aoti)
CPU_SETTINGS = {"runtime": "torchscript", "batch": 1, "dtype": "float32", "threads": 1, "warmup": 10, "repeats": 30,
                "calibrate": 20, "fit_subnets": 40}
#: target name -> the runtime its table is measured in (each profiled or fitted on first use, cached apart)
CPU_TARGETS = {"cpu": "torchscript", "cpu-eager": "eager", "cpu-fused": "fused", "cpu-ort": "onnxruntime",
               "cpu-aoti": "aoti"}


def cpu_profile_path(threads: int | None = None, runtime: str | None = None, dtype: str = "float32") -> Path:
    """The cached profile of a ``cpu*`` target; spaces with int8 layers (``S+q``) have their own (``-int8``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", opbench.device_name("cpu").lower()).strip("-")[:60]
    s = CPU_SETTINGS
    kind = "" if dtype == "float32" else f"-{dtype}"
    runtime = runtime or s["runtime"]
    if runtime == "fused":  # a changed kernel is another runtime: its table is profiled afresh
        from .fused._ext import build_key

        runtime = f"fused-{build_key()[:8]}"
    return cache_dir() / "profiles" / f"cpu-{slug}-{runtime}{kind}-b{s['batch']}-t{threads or s['threads']}.csv"


def check_table_runtime(table: LatencyTable, runtime: str, where: str) -> None:
    """Refuse (one line) a table measured in another runtime than the one ``where`` means."""
    have = table.metadata.get("runtime")
    if have != runtime:
        made = "fitted" if table.metadata.get("kind") == "fitted" else "profiled"
        raise InvalidInput(f"{table.origin or 'the table'} was {made} "
                           f"with runtime {have!r}, but {where} means runtime {runtime!r}; use a table of that "
                           f"runtime (nas latency profile --runtime {runtime}) or the target of {have!r}")


def target_runtime(name: str) -> str | None:
    """The runtime a built-in ``cpu*`` target means (None for other targets)."""
    return CPU_TARGETS.get(name)


def cpu_table(space: SearchSpace, progress: bool = True, runtime: str | None = None,
              target: str = "cpu") -> LatencyTable:
    """This machine's cached profile for ``runtime``, extended with the ops of ``space`` it lacks (measured
    now) and calibrated end to end once; for a runtime profiled from whole subnets (aoti), fitted on
    ``CPU_SETTINGS['fit_subnets']`` of them."""
    from .profiling import fit_estimate_s, profile_by_fit
    from .runtimes import PER_OP, require

    runtime = runtime or CPU_SETTINGS["runtime"]
    dtype = kernel_dtype(space)
    if dtype == "int8" and runtime not in opbench.INT8_RUNTIMES:
        raise InvalidInput(f"target {target} ({runtime}) has no int8 kernels for the int8 layers of {space.name}; "
                           f"use target cpu or cpu-eager (oneDNN's int8 kernels), or restrict the space to "
                           f"fp32 ({space.family}[abits=32])")
    path = cpu_profile_path(runtime=runtime, dtype=dtype)
    table = read_table(path) if path.is_file() else None
    if table is not None:
        check_table_runtime(table, runtime, f"target {target}")
    needed = structured(space).structure("block").unique_ops()
    s = CPU_SETTINGS
    if table is None or not all(k in table for k in needed) or space.family not in table.spaces:
        require(runtime)  # before any message about profiling: one line naming what to install
        if runtime not in PER_OP:
            n = s["fit_subnets"]
            if progress:
                print(f"{target} target: timing {n} subnets of {space.name} end to end in {runtime} to fit its table "
                      f"(first use, about {fit_estimate_s(runtime, n) / 60:.0f} min; resumable; cached in {path})",
                      file=sys.stderr)
            table, _ = profile_by_fit(space, path, runtime=runtime, subnets=n, threads=s["threads"],
                                      warmup=s["warmup"], repeats=s["repeats"], progress=progress)
            return table
        if progress:
            print(f"{target} target: profiling the ops of {space.name} in {runtime} on this machine (first use, about "
                  f"{max(1, len(needed) * _OP_SECONDS.get(runtime, 0.1)):.0f} s; cached in {path})", file=sys.stderr)
        table, _ = profile_space(space, path, runtime=runtime, batch=s["batch"], dtype=dtype,
                                 threads=s["threads"], warmup=s["warmup"], repeats=s["repeats"], progress=progress)
    if s["calibrate"] and "calibration" not in table.metadata and table.metadata.get("kind") != "fitted":
        if progress:
            print(f"{target} target: timing {s['calibrate']} subnets end to end to calibrate the profile",
                  file=sys.stderr)
        table = calibrate_table(path, space, s["calibrate"])
    return table


#: rough seconds per op to profile, for the first-use message (onnxruntime: a dynamo export per op)
_OP_SECONDS = {"eager": 0.05, "torchscript": 0.1, "fused": 0.1, "onnxruntime": 3.5}


def _cpu_info(name: str = "cpu") -> dict:
    runtime = CPU_TARGETS[name]
    path = cpu_profile_path(runtime=runtime)
    from .runtimes import PER_OP, available

    how = "profiled op by op" if runtime in PER_OP else f"fitted from {CPU_SETTINGS['fit_subnets']} whole subnets"
    info = {"kind": "measured" if runtime in PER_OP else "fitted", "device": opbench.device_name("cpu"),
            "runtime": runtime, "batch_size": CPU_SETTINGS["batch"], "threads": CPU_SETTINGS["threads"],
            "source": f"{how} on this machine on first use, cached in {path}"}
    if path.is_file():
        try:
            meta = read_table(path).metadata
            info.update({k: meta[k] for k in ("date", "spaces", "measured_error", "calibration", "runtime_detail")
                         if k in meta})
            if meta.get("runtime") != runtime:
                info["problem"] = f"its cached table was made with runtime {meta.get('runtime')!r}, not {runtime!r}"
        except InvalidInput as exc:
            info["problem"] = str(exc)
    else:
        reason = _listing_reason(runtime, available)
        info["status"] = (f"unavailable here: {reason}" if reason else
                          f"not profiled yet (runs on first use, or: nas latency profile --space S --runtime {runtime}"
                          + ("" if runtime in PER_OP else f" --subnets {CPU_SETTINGS['fit_subnets']}") + ")")
    return info


def _listing_reason(runtime: str, available) -> str | None:
    """Why ``runtime`` cannot run here, as far as listing may find out: it builds nothing (the fused
    kernels compile on first use, so listing only looks for a compiler unless they were built)."""
    if runtime in ("eager", "torchscript"):
        return None
    if runtime == "fused":
        from .fused import _ext

        if "path" in _ext._state or "error" in _ext._state or _ext.library_path().exists():
            return available(runtime)
        return None if _ext._compiler() else f"no C++ compiler ({os.environ.get('CXX', 'c++')}) for the fused kernels"
    return available(runtime)


def _register_cpu(name: str, runtime: str) -> None:
    def factory(space: SearchSpace) -> CostModel:
        return LatencyModel(cpu_table(space, runtime=runtime, target=name), space).cost_model(name)

    factory.__name__ = f"{name.replace('-', '_')}_target"
    register_target(name, info=lambda: _cpu_info(name))(factory)


for _name, _runtime in CPU_TARGETS.items():
    _register_cpu(_name, _runtime)


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
