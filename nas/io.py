"""JSON files, written atomically (``search_spaces.fileio``: a crash never leaves a half-written file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from search_spaces.fileio import atomic_path, atomic_paths, remove_stale_temps, write_text

__all__ = ["atomic_path", "atomic_paths", "write_text", "write_json", "read_json", "remove_stale_temps"]


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_default) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def _default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")
