"""One writer at a time for a run directory (or a table being profiled).

A second ``nas search --resume`` on a running search duplicated its rows and damaged the run for
good, so every command that writes a run holds ``fcntl.flock`` on a lock file for its lifetime. The
kernel drops the lock when the holder dies, even by SIGKILL, so a killed run can be resumed at once;
the file holds the holder's PID for the refusal message, and is removed on release so that a
finished run directory holds only the run's own files.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .errors import RunDirectoryError

__all__ = ["LOCK_NAME", "RunLock"]

LOCK_NAME = ".nas.lock"


class RunLock:
    """An exclusive, non-blocking lock on ``path`` (``DIR/.nas.lock``); ``what`` names the locked thing."""

    def __init__(self, path: str | Path, what: str | Path | None = None):
        self.path = Path(path)
        self.what = str(what if what is not None else self.path.parent)
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                raise RunDirectoryError(f"{self.what} is in use by another nas process (PID {holder}); wait for it "
                                        "to finish or stop it") from None
            # the holder we waited on may have removed the file as it released it: then we locked a file
            # nobody else will open, and must lock the one now at that path instead
            try:
                current = os.stat(self.path)
                mine = os.fstat(fd)
                same = (current.st_ino, current.st_dev) == (mine.st_ino, mine.st_dev)
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)  # while still held: see acquire
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else "unknown"
