"""Atomic file writes, the engine's one implementation (standard library only).

A file is written under a temporary name beside its destination and renamed over it when complete,
so a crash never leaves a half-written result, table, checkpoint or predictor behind. Temporary files
get the permissions a plain ``open`` would give (mkstemp's 0600 would hide results from other users).
Standard library only: the device-side profiler kit (``opbench.py``) carries this file with it.
"""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

__all__ = ["atomic_path", "atomic_paths", "write_text", "remove_stale_temps", "TEMP_GLOB"]

_UMASK = os.umask(0)
os.umask(_UMASK)

#: what temporary files of an interrupted write look like (``.NAME.<random>.tmp<suffix>``)
TEMP_GLOB = ".*.tmp*"


def _temp_beside(path: Path) -> str:
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory, expected a file path", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)
    return tmp


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success it replaces ``path``, on error it is removed."""
    with atomic_paths([path]) as (tmp,):
        yield tmp


@contextmanager
def atomic_paths(paths: Sequence[str | Path]) -> Iterator[list[Path]]:
    """Temp paths for several files, renamed into place only when all of them were written (a failure
    leaves every destination as it was: no new NPZ beside an old header)."""
    targets = [Path(p) for p in paths]
    temps: list[str] = []
    try:
        for target in targets:
            temps.append(_temp_beside(target))
        yield [Path(t) for t in temps]
        for target, tmp in zip(targets, temps):
            os.replace(tmp, target)
    finally:
        for tmp in temps:
            Path(tmp).unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    """Atomically, and synced to disk before the rename: state files must survive a power cut too."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def remove_stale_temps(folder: str | Path) -> None:
    """Delete temp files that a killed process left in ``folder``."""
    for tmp in Path(folder).glob(TEMP_GLOB):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
