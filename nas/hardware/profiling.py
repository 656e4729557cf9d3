"""Profile the op specs of a space on this machine (or emit them for a device that has only torch)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from search_spaces import SearchSpace
from search_spaces.errors import InvalidInput

from ..io import cache_dir, write_json
from . import opbench
from .opspec import check_fusion, structured
from .table import LatencyTable, is_table_file, read_table

__all__ = ["space_specs", "emit_specs", "profile_space", "profile_by_fit", "fit_estimate_s", "cache_dir",
           "RichProgress", "KIT_FILES", "SUBNET_SECONDS", "FIT_SEED"]


def space_specs(space: SearchSpace, fusion: str = "block") -> list[dict]:
    """Every op the space can produce, as the specs the profiler builds and measures."""
    return [op.as_spec() for op in structured(space).structure(check_fusion(fusion)).unique_ops().values()]


def _kit_files() -> dict[str, Path]:
    """The device-side profiler and what it imports (torch and the standard library only)."""
    from search_spaces import fileio
    from supernets.static import oplib, transformer

    return {"opbench.py": Path(opbench.__file__), "oplib.py": Path(oplib.__file__),
            "transformer.py": Path(transformer.__file__), "fileio.py": Path(fileio.__file__)}


KIT_FILES = ("opbench.py", "oplib.py", "transformer.py", "fileio.py")


def emit_specs(space: SearchSpace, path: str | Path, fusion: str = "block") -> int:
    """Write the spec file ``opbench.py`` measures on another device, and the profiler kit beside it
    (``opbench.py``, ``oplib.py``, ``transformer.py``, ``fileio.py``: copy the folder to the device); returns the
    number of ops."""
    specs = space_specs(space, fusion)
    path = Path(path)
    write_json(path, {"format": "nas-op-specs", "metadata": _table_metadata(space, fusion), "specs": specs})
    for name, source in _kit_files().items():
        target = path.parent / name
        if target.exists() and target.resolve() != source.resolve():
            first = target.read_bytes().split(b"\n", 1)[0]
            if first != source.read_bytes().split(b"\n", 1)[0]:
                raise InvalidInput(f"{target} exists and is not the engine's {name}; emit the specs into "
                                   f"another folder (the profiler kit is copied beside them)")
        if not target.exists() or target.resolve() != source.resolve():
            shutil.copyfile(source, target)
    return len(specs)


def _table_metadata(space: SearchSpace, fusion: str) -> dict:
    return {"fusion": fusion, "spaces": [space.family], "kind": "measured",
            "source": "measured by nas latency profile (nas/hardware/opbench.py)"}


class RichProgress:
    """A rich bar for the profiler (``opbench`` prints plain lines where rich is missing)."""

    def __init__(self, total: int, done: int, enabled: bool = True):
        self.progress = Progress(TextColumn("[bold]profiling ops"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TimeRemainingColumn(), disable=not enabled, transient=False)
        if done and enabled:
            self.progress.console.print(f"resuming: {done} ops already measured")
        self.progress.start()
        self.task = self.progress.add_task("profile", total=total)

    def __call__(self, k: int) -> None:
        self.progress.advance(self.task, k)

    def close(self) -> None:
        self.progress.stop()


def _check_existing_output(out: Path) -> None:
    """``out`` may hold an earlier profile to extend, but never anything else (it would be overwritten)."""
    if out.is_dir():
        raise InvalidInput(f"--out {out} is a folder; give the path of a table file (.csv)")
    if out.exists():
        if not is_table_file(out):
            raise InvalidInput(f"--out {out} exists and is not a latency table; pick another --out "
                               f"(profiling extends only a table it wrote before)")
        read_table(out)  # a corrupt table raises here, before anything is measured


def profile_space(space: SearchSpace, out: str | Path, *, device: str = "cpu", runtime: str = "torchscript",
                  batch: int = 1, dtype: str = "float32", threads: int | None = 1, warmup: int = 10,
                  repeats: int = 30, flush_mb: float | None = None, fusion: str = "block",
                  progress: bool = True) -> tuple[LatencyTable, int]:
    """Measure every op of ``space`` that ``out`` lacks; returns (the table, ops measured now).

    Resumes from ``out`` and ``out.partial``; the conditions (device, runtime, batch, dtype, threads,
    flush) must match what those files recorded.
    """
    out = Path(out)
    if out.suffix != ".csv":
        raise InvalidInput(f"profiles are written as CSV (got {out.name}); convert with LatencyTable.save")
    from .runtimes import PER_OP

    if runtime in opbench.RUNTIMES and runtime not in PER_OP:
        n = len(space_specs(space, fusion))
        raise InvalidInput(f"runtime {runtime} compiles every op (~{SUBNET_SECONDS[runtime]} s each here, {n} ops: "
                           f"~{n * SUBNET_SECONDS[runtime] / 3600:.1f} h); fit its table from whole subnets instead: "
                           f"--subnets N (about N x {SUBNET_SECONDS[runtime]} s)")
    _check_existing_output(out)
    try:
        settings = opbench.run_settings(device, runtime, batch, dtype, threads, warmup, repeats, flush_mb)
        settings["runtime_detail"] = _detail(runtime)
        specs = space_specs(space, fusion)

        def factory(total: int, done: int) -> RichProgress:
            return RichProgress(total, done, progress)

        _, _, new = opbench.profile(specs, str(out), _table_metadata(space, fusion), settings, factory)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return read_table(out), new


def _detail(runtime: str) -> str:
    from .runtimes import RUNTIMES, runtime_detail

    return runtime_detail(runtime) if runtime in RUNTIMES else runtime


# ----------------------------------------------------------------------------- tables fitted from subnets
#: rough seconds to prepare and time one whole subnet end to end per runtime on this kind of CPU (for the
#: estimate printed before a ``--subnets`` run); aoti is dominated by its AOTInductor compile
SUBNET_SECONDS = {"eager": 1, "torchscript": 2, "fused": 2, "onnxruntime": 8, "aoti": 60}
#: the subnets a fitted table is timed on come from their own seed (``nas latency validate`` uses 0)
FIT_SEED = 20_240_715
JOURNAL_FORMAT = "nas-subnet-timings"
_JOURNAL_KEYS = ("device", "runtime", "batch_size", "dtype", "threads", "flush_mb", "space", "seed", "subnets")


def fit_estimate_s(runtime: str, subnets: int) -> float:
    return subnets * SUBNET_SECONDS.get(runtime, 2)


def _time_subnets(space: SearchSpace, genomes, settings: dict) -> list[float]:
    """End-to-end latency (ms) of each genome under ``settings`` (tests replace this with a fake timer)."""
    from .validate import measure_subnets

    ms, _ = measure_subnets(space, genomes, device=settings["torch_device"], runtime=settings["runtime"],
                            batch=settings["batch_size"], threads=settings["threads"], warmup=settings["warmup"],
                            repeats=settings["repeats"], flush_mb=settings["flush_mb"], passes=1)
    return [float(v) for v in ms]


def _read_journal(path: Path, meta: dict) -> dict[int, float]:
    import json

    if not path.exists():
        return {}
    lines = path.read_text().splitlines(keepends=True)
    if not lines or not lines[0].startswith(f"# {JOURNAL_FORMAT} "):
        raise InvalidInput(f"{path} is not a subnet-timing journal; delete it to time again")
    try:
        old = json.loads(lines[0][len(JOURNAL_FORMAT) + 3:])
    except ValueError:
        raise InvalidInput(f"{path} has corrupt metadata; delete it to time again") from None
    for k in _JOURNAL_KEYS:
        if old.get(k) != meta.get(k):
            raise InvalidInput(f"{path} was timed with {k}={old.get(k)!r}, not {meta.get(k)!r}; use another --out "
                               f"or the same settings")
    done = {}
    for line in lines[1:]:
        if not line.endswith("\n"):
            break  # a torn last line (a killed run)
        parts = line.strip().split(",", 2)  # index, latency, arch id (which has commas of its own)
        if len(parts) == 3:
            done[int(parts[0])] = float(parts[1])
    return done


def profile_by_fit(space: SearchSpace, out: str | Path, *, runtime: str, subnets: int, threads: int | None = 1,
                   warmup: int = 10, repeats: int = 30, flush_mb: float | None = None, train: float = 0.8,
                   seed: int = FIT_SEED, progress: bool = True) -> tuple[LatencyTable, int]:
    """A per-op table for ``runtime`` fitted (``fit.fit_table``) from end-to-end timings of ``subnets``
    random subnets: for runtimes that compile too slowly to profile op by op (aoti). Resumable: each
    timed subnet is appended to ``out.subnets.partial`` at once; the timings are kept in
    ``out.subnets.csv`` next to the table. Returns (the table, subnets timed now)."""
    import datetime as _dt
    import json

    import numpy as np

    from .fit import error_report, fit_table

    out = Path(out)
    if out.suffix != ".csv":
        raise InvalidInput(f"tables are written as CSV (got {out.name})")
    if isinstance(subnets, bool) or not isinstance(subnets, (int, np.integer)) or subnets < 5:
        raise InvalidInput(f"--subnets must be a whole number >= 5 (the fit needs some to check it on), not "
                           f"{subnets!r}")
    _check_existing_output(out)
    try:
        settings = opbench.run_settings("cpu", runtime, 1, "float32", threads, warmup, repeats, flush_mb)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    meta = {k: settings[k] for k in ("device", "runtime", "batch_size", "dtype", "threads", "flush_mb")}
    meta |= {"space": space.name, "seed": int(seed), "subnets": int(subnets)}
    journal = out.with_name(out.name + ".subnets.partial")
    done = _read_journal(journal, meta)
    genomes = space.sample(int(subnets), np.random.default_rng(seed))
    todo = [i for i in range(int(subnets)) if i not in done]
    if todo:
        out.parent.mkdir(parents=True, exist_ok=True)
        fresh = not journal.exists()
        bar = RichProgress(len(todo), len(done), progress)
        try:
            with open(journal, "a") as f:
                if fresh:
                    f.write(f"# {JOURNAL_FORMAT} {json.dumps(meta, sort_keys=True)}\n")
                    f.flush()
                for i in todo:
                    ms = float(_time_subnets(space, genomes[i:i + 1], settings)[0])
                    f.write(f"{i},{ms!r},{space.arch_id(space.decode(genomes[i]))}\n")
                    f.flush()
                    os.fsync(f.fileno())
                    done[i] = ms
                    bar(1)
        finally:
            bar.close()
    latency = np.array([done[i] for i in range(int(subnets))])
    order = np.random.default_rng(seed).permutation(int(subnets))
    n_train = max(2, min(int(subnets), int(round(train * int(subnets)))))
    tr, te = order[:n_train], order[n_train:]
    result = fit_table(space, genomes[tr], latency[tr], fusion="block")
    held_out = error_report(result.predict(genomes[te]), latency[te]) if len(te) else None
    table_meta = settings | {
        "kind": "fitted", "fusion": "block", "spaces": [space.family], "runtime_detail": _detail(runtime),
        "source": f"fitted by nas latency profile --runtime {runtime} --subnets {subnets} (nas/hardware/fit.py) "
                  f"from end-to-end timings of {subnets} random subnets of {space.name}",
        "fit": result.metadata, "train_error": result.train_error,
        "measured_error": held_out or "no held-out subnets",
        "split": {"train": int(n_train), "test": int(len(te)), "seed": int(seed)},
        "timings": out.with_name(out.stem + ".subnets.csv").name,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    table = result.table(table_meta)
    timings = out.with_name(out.stem + ".subnets.csv")
    from ..io import atomic_path

    with atomic_path(timings) as tmp:
        with open(tmp, "w") as f:
            f.write("arch_id,latency_ms\n")
            for i in range(int(subnets)):
                f.write(f"\"{space.arch_id(space.decode(genomes[i]))}\",{float(latency[i])!r}\n")
    table.save(out)
    if journal.exists():
        journal.unlink()
    return read_table(out), len(todo)
