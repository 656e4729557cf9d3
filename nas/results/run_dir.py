"""A search run's directory: its setup, every evaluated subnet, the searcher state, and summaries.

``results.csv`` grows by one block of rows per generation; ``state.json`` (written atomically after
the rows) records how many rows belong to completed generations, so a resumed run first drops any
rows of a generation that was interrupted and then redoes that generation exactly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..errors import RunDirectoryError
from ..io import atomic_path, read_json, write_json

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

    def file(self, name: str) -> Path:
        return self.path / name

    # --------------------------------------------------------------- lifecycle
    @classmethod
    def create(cls, path: str | Path, config: dict) -> "RunDirectory":
        run = cls(path)
        if run.file(cls.CONFIG).exists():
            raise RunDirectoryError(
                f"{run.path} already holds a search run; pass --resume {run.path} to continue it, "
                f"or choose another --out"
            )
        if run.path.exists() and not run.path.is_dir():
            raise RunDirectoryError(f"--out {run.path} is a file, not a directory")
        run.path.mkdir(parents=True, exist_ok=True)
        write_json(run.file(cls.CONFIG), config)
        return run

    @classmethod
    def open(cls, path: str | Path) -> "RunDirectory":
        run = cls(path)
        if not run.file(cls.CONFIG).is_file():
            raise RunDirectoryError(f"{run.path} is not a search run directory (no {cls.CONFIG})")
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
        path = self.file(self.RESULTS)
        header = not path.exists() or path.stat().st_size == 0
        with open(path, "a", newline="") as f:
            rows.to_csv(f, header=header, index=False)
            f.flush()
            os.fsync(f.fileno())

    def read_results(self) -> pd.DataFrame:
        path = self.file(self.RESULTS)
        if not path.exists() or path.stat().st_size == 0:
            return pd.DataFrame()
        try:
            return pd.read_csv(path, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise RunDirectoryError(f"{path} is corrupt: {str(exc).splitlines()[0]}") from None

    def truncate_results(self, n_rows: int) -> pd.DataFrame:
        """Keep the first ``n_rows`` rows (those of completed generations) and return them."""
        df = self.read_results()
        if len(df) < n_rows:
            raise RunDirectoryError(
                f"{self.file(self.RESULTS)} has {len(df)} rows but the saved state counts {n_rows}: "
                "the run directory is damaged"
            )
        if len(df) > n_rows:
            df = df.iloc[:n_rows]
            with atomic_path(self.file(self.RESULTS)) as tmp:
                df.to_csv(tmp, index=False)
        return df

    # ------------------------------------------------------------------- state
    def save_state(self, state: dict) -> None:
        write_json(self.file(self.STATE), state)

    def load_state(self) -> dict | None:
        path = self.file(self.STATE)
        if not path.exists():
            return None
        try:
            return read_json(path)
        except ValueError as exc:
            raise RunDirectoryError(f"{path} is corrupt: {exc}") from None
