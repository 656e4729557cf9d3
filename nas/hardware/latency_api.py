"""The latency workflows behind ``nas latency profile|fit|import-ofa|validate`` and ``nas targets``."""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np

from search_spaces import SearchSpace, get_space
from search_spaces.checks import check_seed
from search_spaces.errors import InvalidInput

from ..lock import RunLock
from ._target import TARGETS, file_targets, resolve_target, target_info
from .calibration import calibrate_table
from .fit import error_report, fit_table
from .local import CPU_SETTINGS, check_target_name, cpu_profile_path, save_named_table
from .measurements import read_measurements
from .ofa_import import import_ofa_tables
from .opbench import DTYPES, INT8_RUNTIMES, MAX_REPEATS, MAX_WARMUP
from .opspec import check_dtype, check_fusion, kernel_dtype, structured
from .profiling import emit_specs, profile_space
from .table import check_table_path
from .validate import check_plot_path, check_samples, validate_target

__all__ = ["profile", "fit", "import_ofa", "validate", "targets"]


def _whole(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _space(space: str | SearchSpace) -> SearchSpace:
    return get_space(space) if isinstance(space, str) else space


def profile(space: str | SearchSpace, out: str | Path | None = None, *, device: str = "cpu",
            runtime: str = "torchscript", batch: int = 1, dtype: str | None = None, threads: int | None = 1,
            warmup: int = 10, repeats: int = 30, flush_mb: float | None = None, fusion: str = "block",
            calibrate: int = 20, emit: str | Path | None = None, subnets: int | None = None,
            progress: bool = True, say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Measure every op spec of ``space`` here (resumable) and calibrate end to end on ``calibrate`` subnets.

    With ``subnets`` (required for runtimes too slow to compile op by op: aoti) the table is instead fitted
    from end-to-end timings of that many random subnets (resumable too). With ``emit`` only the spec file
    for ``opbench.py`` is written (to measure on another device). Without ``out`` a CPU profile with the
    ``cpu`` targets' settings goes to the cache of the target of that runtime (cpu, cpu-fused, ...).
    ``say`` gets the time estimate before a ``subnets`` run starts.
    """
    from .opbench import ENGINE_RUNTIMES, KIT_RUNTIMES
    from .runtimes import BUILTIN, PER_OP

    space = structured(_space(space))
    check_fusion(fusion)
    if dtype is None:
        dtype = kernel_dtype(space)
    elif dtype not in DTYPES:
        raise InvalidInput(f"unknown --dtype {dtype!r}; allowed: {', '.join(DTYPES)}")
    check_dtype(space, dtype)
    if dtype == "int8" and (runtime not in INT8_RUNTIMES or device != "cpu"):
        raise InvalidInput(f"--dtype int8 runs oneDNN's int8 kernels on the CPU in runtime "
                           f"{' or '.join(INT8_RUNTIMES)}; got --device {device} --runtime {runtime}")
    if runtime not in BUILTIN:
        raise InvalidInput(f"unknown runtime {runtime!r}; known: {', '.join(BUILTIN)}")
    if not _whole(calibrate) or calibrate < 0 or 0 < calibrate < 3:
        raise InvalidInput(f"--calibrate must be 0 (skip) or at least 3 subnets, not {calibrate!r}")
    if subnets is not None and (not _whole(subnets) or subnets < 5):
        raise InvalidInput(f"--subnets must be a whole number >= 5, not {subnets!r}")
    if emit is not None:
        if runtime in ENGINE_RUNTIMES:
            raise InvalidInput(f"runtime {runtime} runs only inside the engine, not in the device kit; the kit "
                               f"runs {', '.join(KIT_RUNTIMES)}")
        if subnets is not None:
            raise InvalidInput("--subnets times whole subnets here; it does not go with --emit-specs")
        if not re.fullmatch(r"cpu|cuda(:\d+)?", device):
            raise InvalidInput(f"unknown device {device!r}; allowed: cpu, cuda or cuda:N (on the device that "
                               f"runs opbench.py)")
        n = emit_specs(space, emit, fusion)
        return {"specs": str(emit), "ops": n, "space": space.name, "fusion": fusion,
                "next": f"python opbench.py {emit} --out table.csv --device {device} --runtime {runtime}"}
    if subnets is None and runtime not in PER_OP:
        from .profiling import SUBNET_SECONDS

        raise InvalidInput(f"runtime {runtime} compiles each model for ~{SUBNET_SECONDS[runtime]} s, too slow to "
                           f"profile op by op; fit its table from whole subnets: --subnets N (e.g. --subnets 40, "
                           f"about {40 * SUBNET_SECONDS[runtime] / 60:.0f} min)")
    fitting = subnets is not None
    if fitting and (device != "cpu" or batch != 1 or dtype != "float32" or fusion != "block"):
        raise InvalidInput("--subnets fits a CPU table at batch 1, float32, block fusion (the settings of the cpu "
                           "targets); drop --device/--batch/--dtype/--fusion")
    if out is None:
        same = (device == "cpu" and batch == CPU_SETTINGS["batch"] and dtype == kernel_dtype(space)
                and fusion == "block" and flush_mb is None)
        if not same:
            raise InvalidInput("--out is required unless profiling with the cpu targets' settings "
                               "(--device cpu --batch 1, the space's own dtype, block fusion, default flush)")
        out = cpu_profile_path(threads, runtime, dtype)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)  # for the lock; the profile would make it anyway
    # one profiler per table: two would append to one journal and overwrite each other's table
    with RunLock(out.parent / f".{out.name}.lock", out):
        if fitting:
            from .profiling import fit_estimate_s, profile_by_fit
            from .runtimes import require

            require(runtime)
            if say is not None:
                say(f"timing {subnets} subnets of {space.name} end to end in {runtime} to fit a per-op table: about "
                    f"{fit_estimate_s(runtime, subnets) / 60:.1f} min on this machine (resumable: rerun to continue)")
            table, new = profile_by_fit(space, out, runtime=runtime, subnets=subnets, threads=threads, warmup=warmup,
                                        repeats=repeats, flush_mb=flush_mb, progress=progress)
        else:
            table, new = profile_space(space, out, device=device, runtime=runtime, batch=batch, dtype=dtype,
                                       threads=threads, warmup=warmup, repeats=repeats, flush_mb=flush_mb,
                                       fusion=fusion, progress=progress)
            if calibrate and (new or "calibration" not in table.metadata):
                table = calibrate_table(out, space, calibrate)
    return {"table": str(out), "ops": len(table), "measured_now": new, "space": space.name,
            "kind": table.metadata.get("kind"), "device": table.metadata.get("device"),
            "runtime": table.metadata.get("runtime"), "runtime_detail": table.metadata.get("runtime_detail"),
            "threads": table.metadata.get("threads"), "calibration": table.metadata.get("calibration"),
            "measured_error": table.metadata.get("measured_error") if fitting else None}


def fit(space: str | SearchSpace, measurements: str | Path, *, column: str | None = None,
        out: str | Path | None = None, name: str | None = None, train: float = 0.8, seed: int = 0,
        fusion: str = "block", device: str | None = None, runtime: str = "unknown", batch: int | None = None) -> dict:
    """Fit a per-op table on a random ``train`` share (or count) of the subnets; report the rest.

    ``train`` is a share in (0, 1] or a whole number of subnets (at least 2). Every argument is checked
    before the measurements are read, and nothing is written unless the fit succeeds.
    """
    space = structured(_space(space))  # spaces without a structure: NotSupported naming those that have one
    check_fusion(fusion)
    check_seed(seed)
    try:
        share = 0 < float(train) <= 1
        count = float(train) > 1 and float(train).is_integer()
    except (TypeError, ValueError):
        share = count = False
    if isinstance(train, bool) or not (share or count):
        raise InvalidInput(f"--train must be a share of the subnets in (0, 1] or a whole number of them (>= 2), "
                           f"not {train!r}")
    if out is None and name is None:
        raise InvalidInput("give an output: out (--out FILE) and/or name (--name NAME)")
    if name is not None:
        check_target_name(name)
    if out is not None:
        check_table_path(out)
    genomes, latency, column = read_measurements(measurements, space, column)
    n = len(latency)
    n_train = int(round(train * n)) if share else int(train)
    if not 2 <= n_train <= n:
        raise InvalidInput(f"--train {train} leaves {n_train} of {n} subnets to fit on; need 2..{n} "
                           f"(a share in (0, 1] or a count)")
    order = np.random.default_rng(seed).permutation(n)
    tr, te = order[:n_train], order[n_train:]
    result = fit_table(space, genomes[tr], latency[tr], fusion=fusion)
    held_out = error_report(result.predict(genomes[te]), latency[te]) if len(te) else None
    meta = {"kind": "fitted", "device": device or column, "runtime": runtime, "batch_size": batch or "unknown",
            "dtype": "unknown", "fusion": fusion, "spaces": [space.family],
            "source": f"end-to-end latencies {Path(measurements).name}:{column}", "fit": result.metadata,
            "train_error": result.train_error, "measured_error": held_out or "no held-out subnets (--train covers all)",
            "split": {"train": int(n_train), "test": int(len(te)), "seed": seed},
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    table = result.table(meta)
    saved = []
    if name is not None:
        saved.append(str(save_named_table(table, name)))
    if out is not None:
        saved.append(str(table.save(out)))
    return {"column": column, "subnets": n, "train": int(n_train), "test": int(len(te)), "held_out": held_out,
            "train_error": result.train_error, "ops": len(table), "written": saved}


def import_ofa(directory: str | Path, name: str, out: str | Path | None = None) -> dict:
    """Import once-for-all's YAML tables; saved by ``name`` (a ``--target``), or to ``out`` when given."""
    check_target_name(name, saving=out is None)
    if out is not None:
        check_table_path(out)
    table = import_ofa_tables(directory, name)
    written = [str(save_named_table(table, name))] if out is None else [str(table.save(out))]
    meta = table.metadata
    return {"name": name, "ops": len(table), "resolutions": meta["resolutions"], "spaces": meta["spaces"],
            "written": written}


def validate(target: str, space: str | SearchSpace = "ofa-mbv3", *, samples: int = 100, seed: int = 0,
             plot: str | Path | None = None, threads: int | None = None, warmup: int | None = None,
             repeats: int | None = None, passes: int = 2, progress: Callable[[int], None] | None = None,
             runtime: str | None = None) -> dict:
    """Time ``samples`` random subnets end to end here and compare with ``target``'s predictions.

    Timing follows the target's recorded settings (runtime, batch, threads, cache flush) unless given;
    each subnet's time is the fastest of ``passes`` passes over all of them. ``runtime`` must be the one
    the target was made in (a table of one runtime never checks another's timings): a one-line error else.
    """
    from .local import target_runtime
    from .runtimes import BUILTIN

    if runtime is not None and runtime not in BUILTIN:
        raise InvalidInput(f"unknown runtime {runtime!r}; known: {', '.join(BUILTIN)}")
    meant = target_runtime(target)
    if runtime is not None and meant is not None and runtime != meant:
        raise InvalidInput(f"target {target} means runtime {meant!r}; timing it with --runtime {runtime} would check "
                           f"one runtime's table against another's timings (use the target of {runtime!r})")
    if not _whole(samples) or samples < 2:
        raise InvalidInput(f"--samples must be a whole number >= 2, not {samples!r}")
    check_seed(seed)
    if plot is not None:
        check_plot_path(plot)
    for option, value, low in (("--threads", threads, 0), ("--warmup", warmup, 0), ("--repeats", repeats, 1),
                               ("--passes", passes, 1)):
        if value is not None and (not _whole(value) or value < low):
            raise InvalidInput(f"{option} must be a whole number >= {low}, not {value!r}")
    for option, value, high in (("--warmup", warmup, MAX_WARMUP), ("--repeats", repeats, MAX_REPEATS)):
        if value is not None and value > high:  # before the target: resolving cpu may profile this machine first
            raise InvalidInput(f"{option} must be at most {high}, not {value}")
    space = structured(_space(space))  # end-to-end timing builds the subnets from their ops
    check_samples(samples, space)  # before the target: resolving cpu may profile this machine first
    model = resolve_target(target, space)
    meta = model.metadata
    made_in = meta.get("runtime")
    if runtime is not None and made_in in BUILTIN and made_in != runtime:
        raise InvalidInput(f"target {target} was made with runtime {made_in!r}; timing it with --runtime {runtime} "
                           f"would check one runtime's table against another's timings")
    timing_runtime = runtime or (made_in if made_in in BUILTIN else "torchscript")
    if meta.get("kind") == "modeled" or meta.get("torch_device", "cpu") != "cpu":
        note = f"{model.name} models {meta.get('device')}; timing here checks it against this machine instead"
    else:
        note = None
    result = validate_target(
        model, samples, seed, plot=plot, progress=progress, device=meta.get("torch_device", "cpu"),
        runtime=timing_runtime,
        batch=int(meta["batch_size"]) if str(meta.get("batch_size", "")).isdigit() else 1,
        threads=threads or meta.get("threads") or 1, warmup=int(meta.get("warmup", 10)) if warmup is None else warmup,
        repeats=repeats or int(meta.get("repeats", 30)), flush_mb=meta.get("flush_mb"), passes=passes)
    if note:
        result["note"] = note
    _record_validation(meta, result)
    return result


def _record_validation(meta: dict, result: dict) -> None:
    """A table measured on this very machine keeps its latest end-to-end check as its measured error."""
    from .table import read_table

    path = Path(str(meta.get("table", "")))
    if meta.get("kind") != "measured" or not path.is_file() or meta.get("device") != result["timing"]["device"]:
        return
    table = read_table(path)
    table.metadata["measured_error"] = {k: result[k] for k in ("within_10pct", "rmse_pct", "median_abs_pct",
                                                                "max_abs_pct", "mean_pct", "samples", "seed", "space")}
    table.metadata["measured_error"]["date"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    table.save(path)


def targets() -> list[dict]:
    """Every target name with its provenance and measured error (builds nothing, profiles nothing)."""
    rows = []
    aliases = TARGETS.aliases()
    for name in TARGETS.names():
        try:
            info = target_info(name)
        except Exception as exc:  # a broken plugin target must not hide the others
            info = {"kind": "unreadable", "problem": f"{type(exc).__name__}: {exc}"}
        rows.append({"name": name, "aliases": sorted(a for a, n in aliases.items() if n == name), **info})
    from .table import read_table

    for name, path in file_targets().items():
        try:
            meta = read_table(path).metadata
        except InvalidInput as exc:
            meta = {"kind": "unreadable", "problem": str(exc)}
        rows.append({**meta, "name": name, "aliases": [], "table": str(path)})  # the file's name is the target
    return rows
