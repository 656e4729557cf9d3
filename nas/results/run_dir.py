"""A search run's directory: its setup, every evaluated subnet, the searcher state, and summaries.

``results.csv`` grows by one block of rows per generation; ``state.json`` (written atomically after
the rows) records how many rows belong to completed generations, so a resumed run first drops any
rows of a generation that was interrupted and then redoes that generation exactly.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import RunDirectoryError
from ..io import atomic_path, check_empty_out, read_json, write_json, write_text
from ..lock import LOCK_NAME, RunLock
from .csv_rows import read_results_csv

__all__ = ["RunDirectory"]


class RunDirectory:
    CONFIG = "config.json"
    RESULTS = "results.csv"
    STATE = "state.json"
    BEST = "best.json"
    PARETO = "pareto.csv"
    PLOT = "pareto.png"
    DYNAST = "results_dynast.csv"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._made = False  # whether ``create`` made the directory (else it was empty)
        self._lock: RunLock | None = None
        self._config_before: bytes | None = None  # config.json as a resume found it
        self._saved = False  # whether this writer saved a state (a generation, or the end of its run)

    def file(self, name: str) -> Path:
        return self.path / name

    # --------------------------------------------------------------- lifecycle
    @classmethod
    def create(cls, path: str | Path, config: dict) -> "RunDirectory":
        """Make the run directory (or use an empty one), lock it and write its config; the caller releases it."""
        run = cls(path)
        if run.file(cls.CONFIG).exists():
            raise RunDirectoryError(
                f"{run.path} already holds a search run; pass --resume {run.path} to continue it, "
                f"or choose another --out"
            )
        if run.path.exists() and not run.path.is_dir():
            raise RunDirectoryError(f"--out {run.path} is a file, not a directory")
        leftovers = [name for name in (cls.RESULTS, cls.STATE) if run.file(name).exists()]
        if leftovers:
            raise RunDirectoryError(f"{run.path} holds {leftovers[0]} of another run but no {cls.CONFIG}; "
                                    f"choose another --out or remove it")
        check_empty_out(run.path, "nas search")
        run._made = not run.path.exists()
        run.path.mkdir(parents=True, exist_ok=True)
        run.lock()
        if run.file(cls.CONFIG).exists():  # another search started there since the check above, and finished
            run.release()
            raise RunDirectoryError(f"{run.path} already holds a search run; choose another --out")
        write_json(run.file(cls.CONFIG), config)
        return run

    def lock(self) -> None:
        """Be the directory's only writer until ``release`` (or until this process ends, however it ends)."""
        if self._lock is None:
            self._lock = RunLock(self.file(LOCK_NAME), self.path).acquire()

    def release(self) -> None:
        """Unlock. A resume that saved no state (it failed before its first generation was recorded, e.g.
        replaying the searcher did not reproduce the run) first puts back the config.json it found, so
        a failed resume leaves the directory as it was (its budget raised in config.json would
        otherwise claim a run the directory does not hold)."""
        if self._lock is None:
            return
        try:
            if self._config_before is not None and not self._saved:
                path = self.file(self.CONFIG)
                if not path.is_file() or path.read_bytes() != self._config_before:
                    with atomic_path(path) as tmp:
                        tmp.write_bytes(self._config_before)
        finally:
            self._lock.release()
            self._lock = None

    def discard_unstarted(self) -> None:
        """Remove what this run wrote if it failed before saving its first generation (nothing there to
        resume), so the same ``--out`` can be used again; a directory that existed (empty) stays."""
        import shutil

        if self.file(self.STATE).exists() or not self.path.is_dir():
            return
        if self._made:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        for entry in self.path.iterdir():
            if entry.name != LOCK_NAME:  # still held: release removes it
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)

    @classmethod
    def open(cls, path: str | Path, write: bool = False) -> "RunDirectory":
        """An existing run; ``write`` locks it (a resume), reading needs no lock."""
        run = cls(path)
        if not run.file(cls.CONFIG).is_file():
            raise RunDirectoryError(f"{run.path} is not a search run directory (no {cls.CONFIG})")
        if write:
            run.lock()
            run._config_before = run.file(cls.CONFIG).read_bytes()
        return run

    @property
    def config(self) -> dict:
        try:
            return read_json(self.file(self.CONFIG))
        except (ValueError, OSError) as exc:
            raise RunDirectoryError(f"cannot read {self.file(self.CONFIG)}: {exc}") from None

    # ----------------------------------------------------------------- results
    def append_results(self, rows: pd.DataFrame) -> None:
        """Append rows and flush them to disk before the state that counts them is written."""
        if rows.empty:
            return
        self.append_lines(rows.to_csv(header=False, index=False), ",".join(rows.columns) + "\n")

    def append_lines(self, text: str, header: str, durable: bool = True) -> None:
        """Append CSV lines (``header`` first when the file is new); ``durable`` fsyncs them so they
        survive a power cut, not only a killed process."""
        if not text:
            return
        path = self.file(self.RESULTS)
        new = not path.exists() or path.stat().st_size == 0
        with open(path, "a", newline="", encoding="utf-8") as f:
            f.write(header + text if new else text)
            f.flush()
            if durable:
                os.fsync(f.fileno())

    def read_results(self) -> pd.DataFrame:
        path = self.file(self.RESULTS)
        return self._parse(path.read_bytes() if path.exists() else b"")

    def _parse(self, data: bytes) -> pd.DataFrame:
        if not data:
            return pd.DataFrame()
        try:
            return read_results_csv(io.BytesIO(data))
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise RunDirectoryError(f"{self.file(self.RESULTS)} is corrupt: {str(exc).splitlines()[0]}") from None

    def _row_end(self, n_rows: int) -> int:
        """Byte offset where the header and the first ``n_rows`` rows end (rows never span lines), found
        by counting newlines block by block: the file is never held in memory whole."""
        path = self.file(self.RESULTS)
        want, seen, offset = n_rows + 1, 0, 0  # newlines: the header's, then one per row
        if path.exists():
            with open(path, "rb") as f:
                while True:
                    block = f.read(self.BLOCK)
                    if not block:
                        break
                    ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
                    if n_rows >= 0 and seen + len(ends) >= want:
                        return offset + int(ends[want - seen - 1]) + 1
                    seen += len(ends)
                    offset += len(block)
        if n_rows == 0 and seen == 0:
            return 0  # no header yet (or one torn by a kill): nothing to keep
        raise RunDirectoryError(
            f"{path} has {max(seen - 1, 0)} complete rows but the saved state counts {n_rows}: "
            "the run directory is damaged"
        )

    BLOCK = 1 << 24  # bytes read at a time when scanning results.csv

    def results_prefix(self, n_rows: int) -> pd.DataFrame:
        """The first ``n_rows`` rows (those of completed generations), leaving the file as it is."""
        cut = self._row_end(n_rows)
        path = self.file(self.RESULTS)
        with open(path, "rb") if cut else io.BytesIO(b"") as f:
            return self._parse(f.read(cut))

    def results_columns(self) -> list[str]:
        """The columns of results.csv (its header), or [] before the first rows."""
        import csv

        path = self.file(self.RESULTS)
        if not path.exists():
            return []
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            line = f.readline()
        return next(csv.reader([line])) if line.endswith("\n") else []

    def iter_results(self, n_rows: int, columns: list[str], chunk_rows: int = 100_000):
        """The first ``n_rows`` rows, ``columns`` only, as DataFrames of at most ``chunk_rows`` rows: a
        resume reads a million-row results.csv in bounded memory, never building its id/config strings."""
        cut = self._row_end(n_rows)
        if n_rows == 0 or cut == 0:
            return
        path = self.file(self.RESULTS)
        try:
            with open(path, "rb") as f:
                reader = pd.read_csv(f, nrows=n_rows, usecols=columns, chunksize=chunk_rows, keep_default_na=False,
                                     na_values=["", "nan"], dtype={c: str for c in ("arch_id", "genome", "config")
                                                                   if c in columns})
                for chunk in reader:
                    yield chunk
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise RunDirectoryError(f"{path} is corrupt: {str(exc).splitlines()[0]}") from None

    def truncate_results(self, n_rows: int) -> None:
        """Keep the header and the first ``n_rows`` rows: drops the rows of an interrupted generation
        (a row torn by a kill mid-write goes too) before a resumed run appends its own. Cut in place
        (one ``ftruncate``, then fsync), not by rewriting the file."""
        cut = self._row_end(n_rows)
        path = self.file(self.RESULTS)
        if path.exists() and cut < path.stat().st_size:
            with open(path, "r+b") as f:
                f.truncate(cut)
                f.flush()
                os.fsync(f.fileno())

    # ------------------------------------------------------------------- state
    def save_state(self, state: dict) -> None:
        # compact: written after every generation
        write_text(self.file(self.STATE), json.dumps(state, separators=(",", ":")) + "\n")
        self._saved = True

    def load_state(self) -> dict | None:
        path = self.file(self.STATE)
        if not path.exists():
            return None
        try:
            state = read_json(path)
        except ValueError as exc:
            raise RunDirectoryError(f"{path} is corrupt: {exc}") from None
        ok = isinstance(state, dict) and isinstance(state.get("searcher"), dict) and all(
            isinstance(state.get(k), int) and not isinstance(state.get(k), bool) and state[k] >= 0
            for k in ("rows", "generation"))
        if not ok:
            raise RunDirectoryError(f"{path} is damaged: expected rows and generation (counts) and the searcher's "
                                    f"state; start a new run")
        return state
