"""Profile the op specs of a space on this machine (or emit them for a device that has only torch)."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from search_spaces import SearchSpace
from search_spaces.errors import InvalidInput

from ..io import cache_dir, write_json
from . import opbench
from .opspec import check_fusion, structured
from .table import LatencyTable, is_table_file, read_table

__all__ = ["space_specs", "emit_specs", "profile_space", "cache_dir", "RichProgress", "KIT_FILES"]


def space_specs(space: SearchSpace, fusion: str = "block") -> list[dict]:
    """Every op the space can produce, as the specs the profiler builds and measures."""
    return [op.as_spec() for op in structured(space).structure(check_fusion(fusion)).unique_ops().values()]


def _kit_files() -> dict[str, Path]:
    """The device-side profiler and what it imports (torch and the standard library only)."""
    from search_spaces import fileio
    from supernets.static import oplib

    return {"opbench.py": Path(opbench.__file__), "oplib.py": Path(oplib.__file__),
            "fileio.py": Path(fileio.__file__)}


KIT_FILES = ("opbench.py", "oplib.py", "fileio.py")


def emit_specs(space: SearchSpace, path: str | Path, fusion: str = "block") -> int:
    """Write the spec file ``opbench.py`` measures on another device, and the profiler kit beside it
    (``opbench.py``, ``oplib.py``, ``fileio.py``: copy the folder to the device); returns the number of ops."""
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
    _check_existing_output(out)
    try:
        settings = opbench.run_settings(device, runtime, batch, dtype, threads, warmup, repeats, flush_mb)
        specs = space_specs(space, fusion)

        def factory(total: int, done: int) -> RichProgress:
            return RichProgress(total, done, progress)

        _, _, new = opbench.profile(specs, str(out), _table_metadata(space, fusion), settings, factory)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return read_table(out), new
