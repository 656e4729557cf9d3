"""Decoded images, cached: an ImageFolder directory or ``.tar.gz`` of JPEGs is decoded once and kept as
uint8 arrays (an uncompressed ``.npz``), so epochs, runs and evaluations never decode again.

The cache lives in the engine's cache folder (``nas.io.cache_dir``) under ``images/``, one file per source,
keyed by the source's resolved path, size and modification time (a changed source is decoded anew).
It is written atomically; where it cannot be written, data loads as before, only slower.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from search_spaces.fileio import atomic_path

from ..io import cache_dir

__all__ = ["images_dir", "cached_path", "write_cache"]

VERSION = 1  # bump when the decoding changes (resizing, channel order)


def images_dir() -> Path:
    return cache_dir() / "images"


def _fingerprint(source: Path) -> str:
    st = source.stat()
    if source.is_dir():  # a folder's mtime changes when files are added or removed, not when edited
        times = [f.stat().st_mtime_ns for f in source.rglob("*") if f.is_file()]  # one walk of the tree
        stamp = f"{max(times, default=0)}:{len(times)}"
    else:
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
    return hashlib.sha256(f"{VERSION}|{source.resolve()}|{stamp}".encode()).hexdigest()[:24]


def cached_path(source: Path) -> Path:
    """Where the decoded arrays of ``source`` are (or would be) cached."""
    return images_dir() / f"{source.name}.{_fingerprint(source)}.npz"


def write_cache(source: Path, arrays: dict[str, np.ndarray]) -> Path | None:
    """Store ``arrays`` for ``source``; None when the cache folder is not writable."""
    path = cached_path(source)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
    except OSError:
        return None
    return path
