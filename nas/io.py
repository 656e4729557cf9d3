"""JSON files, written atomically (``search_spaces.fileio``: a crash never leaves a half-written file)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from search_spaces.checks import parse_json_text
from search_spaces.fileio import TEMP_GLOB, atomic_path, atomic_paths, remove_stale_temps, write_text

__all__ = ["atomic_path", "atomic_paths", "write_text", "write_json", "read_json", "save_figure", "remove_stale_temps",
           "cache_dir", "check_empty_out"]


def cache_dir() -> Path:
    """Where the engine caches what it can rebuild (machine profiles, imported tables, decoded images):
    $NAS_CACHE_DIR, else $XDG_CACHE_HOME/nas-engine, else ~/.cache/nas-engine."""
    if os.environ.get("NAS_CACHE_DIR"):
        return Path(os.environ["NAS_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nas-engine"


def check_empty_out(path: str | Path, command: str) -> None:
    """``--out`` of a new run must be new or empty: the run's files would overwrite the user's there.
    What a killed start of ours left (its lock, temp files) does not count."""
    from fnmatch import fnmatch

    from .errors import RunDirectoryError
    from .lock import LOCK_NAME

    path = Path(path)
    if not path.is_dir():
        return
    theirs = sorted(p.name for p in path.iterdir() if p.name != LOCK_NAME and not fnmatch(p.name, TEMP_GLOB))
    if theirs:
        more = f" and {len(theirs) - 1} more" if len(theirs) > 1 else ""
        raise RunDirectoryError(f"--out {path} is not empty (it holds {theirs[0]}{more}) and is not a run of "
                                f"{command}; choose a new or empty directory")


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_default) + "\n")


def read_json(path: str | Path) -> Any:
    """A run's JSON file; ``InvalidInput`` (a ValueError) for undecodable or absurdly nested JSON, the OSError
    of an unreadable file as it is (callers name the run)."""
    return parse_json_text(Path(path).read_text(), Path(path).name)


def _default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def save_figure(fig, path: str | Path, dpi: int | None = None) -> Path:
    """Write a matplotlib figure as a PNG atomically (a reader never sees half a plot) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", **({"dpi": dpi} if dpi else {}))
    plt.close(fig)
    return path
