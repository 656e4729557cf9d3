"""The search loop: ask -> evaluate new subnets -> tell -> record, resumable after every generation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from search_spaces import SearchSpace
from search_spaces.errors import InvalidInput

from ..errors import RunDirectoryError
from ..results.csv_rows import RowFormatter
from ..results.run_dir import RunDirectory
from ..results.tables import genomes_from_results
from ._searcher import Searcher
from .archive import Archive
from .evaluator import Evaluator

__all__ = ["SearchOutcome", "run_search", "restore_archive", "check_limits", "MAX_BUDGET"]

#: the most unique subnets one run may evaluate: 10**8 subnets hold about 10 GB of archive in memory
#: (rows of about 100 bytes: genome, metric values, F, G, hash) and write about 37 GB of results.csv
#: (about 370 bytes a row for ofa-mbv3), i.e. roughly 10 hours at 3,000 subnets/s
MAX_BUDGET = 100_000_000


@dataclass
class SearchOutcome:
    archive: Archive
    generations: int
    stopped: str  # "budget" | "generations" | "stalled"


def restore_archive(space: SearchSpace, evaluator: Evaluator, run_dir: RunDirectory, state: dict) -> Archive:
    """Rebuild the archive from ``results.csv`` (keeping only rows of completed generations).

    Reads only the generation, metric and genome columns, a chunk of rows at a time, so a resume holds
    the archive's arrays and one chunk, never the whole file or its id/config strings."""
    n_rows = int(state["rows"])  # the file is cut only once the resumed run saves its first generation
    archive = Archive(space, evaluator.metric_names)
    where = run_dir.file(run_dir.RESULTS)
    header = run_dir.results_columns()
    if n_rows == 0:
        run_dir.results_prefix(0)  # checks the file against the state
        return archive
    for column in ("generation", "genome", *evaluator.metric_names):
        if column not in header:
            raise RunDirectoryError(f"{where} lacks the column {column!r} this run records")
    last = -1
    for df in run_dir.iter_results(n_rows, ["generation", "genome", *evaluator.metric_names]):
        genomes = genomes_from_results(space, df)
        gens = pd.to_numeric(df["generation"], errors="coerce").to_numpy(np.float64)
        if not np.all(np.isfinite(gens)) or np.any(gens != np.round(gens)):
            raise RunDirectoryError(f"{where} holds a generation that is not a whole number: the run directory is "
                                    "damaged")
        gens = gens.astype(np.int64)
        if np.any(np.diff(np.r_[last, gens]) < 0) or gens[0] < 0:
            raise RunDirectoryError(f"{where} is out of generation order: the run directory is damaged")
        last = int(gens[-1])
        values = {m: pd.to_numeric(df[m], errors="coerce").to_numpy(np.float64) for m in evaluator.metric_names}
        bounds = np.flatnonzero(np.diff(gens)) + 1
        for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(df)]):
            chunk = {m: v[lo:hi] for m, v in values.items()}
            try:
                archive.add(genomes[lo:hi], chunk, int(gens[lo]), evaluator.F(chunk), evaluator.G(chunk))
            except ValueError as exc:  # a subnet recorded twice
                raise RunDirectoryError(f"{where} is damaged: {exc}") from None
    if len(archive) != n_rows:
        raise RunDirectoryError(f"{where} has {len(archive)} complete rows but the saved state counts {n_rows}: "
                                "the run directory is damaged")
    return archive


def _is_count(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def check_limits(budget: int, max_generations: int | None = None, stall_generations: int = 50) -> None:
    """``InvalidInput`` unless the budget and generation limits are counts >= 1 (call before writing a run)."""
    for flag, value in (("--budget", budget), ("--generations", max_generations),
                        ("stall_generations", stall_generations)):
        if value is not None and not _is_count(value):
            raise InvalidInput(f"{flag} must be an integer >= 1, got {value!r}")
    if budget > MAX_BUDGET:
        raise InvalidInput(f"--budget must be an integer from 1 to {MAX_BUDGET:,} (the most subnets one run may "
                           f"evaluate), got {budget:,}")


def run_search(space: SearchSpace, evaluator: Evaluator, searcher: Searcher, *, budget: int,
               max_generations: int | None = None, run_dir: RunDirectory | None = None,
               archive: Archive | None = None, stall_generations: int = 50,
               on_generation: Callable[[int, Archive], None] | None = None,
               checkpoint_every_s: float = 0.0) -> SearchOutcome:
    """Run until ``budget`` unique subnets are evaluated (or ``max_generations``, or the searcher stalls).

    With ``run_dir``, new rows are appended to ``results.csv`` and the searcher state saved after them
    at the end of every generation (or, with ``checkpoint_every_s``, of the first generation that many
    seconds after the last save: cheap objectives then skip most saves), so ``nas search --resume``
    continues exactly where this stopped. Searchers are told the F and G the archive holds. The stall
    count (generations in a row without a new subnet) lives in the searcher's state, so a resumed
    run stops at the generation an uninterrupted one stops at.
    """
    check_limits(budget, max_generations, stall_generations)
    archive = archive if archive is not None else Archive(space, evaluator.metric_names)
    # before the archive: attaching it may replay the run, which needs both
    searcher.set_n_constraints(len(evaluator.constraints))
    if run_dir is not None and searcher.workdir is None:
        searcher.workdir = run_dir.path  # searchers' own files (Optuna's journal) live in the run directory
    searcher.archive = archive
    saver = _Saver(space, evaluator, searcher, archive, run_dir, checkpoint_every_s) if run_dir is not None else None
    stopped = "budget"
    while len(archive) < budget:
        if max_generations is not None and searcher.generation >= max_generations:
            stopped = "generations"
            break
        if searcher.stalled >= stall_generations:
            stopped = "stalled"
            break
        generation = searcher.generation
        asked = space.check_genomes(searcher.ask())
        # the batch is made canonical and hashed once: its rows before, its new subnets, its rows after
        keys = archive.keys(asked, hint=getattr(searcher, "asked_keys", None))
        rows = archive.lookup(asked, keys=keys)
        first = archive.first_index(keys)
        new_at = np.flatnonzero((rows < 0) & (first == np.arange(len(asked))))[: budget - len(archive)]
        new = asked[new_at]
        values = evaluator.evaluate(new)
        G = evaluator.G(values)
        start = len(archive)
        archive.add(new, values, generation, evaluator.F(values), G, keys=keys.take(new_at))
        if len(new_at):  # the new subnets' rows, and those of their repeats later in the batch
            added = np.full(len(asked), -1, dtype=np.int64)
            added[new_at] = np.arange(start, start + len(new_at))
            unseen = rows < 0
            rows[unseen] = added[first[unseen]]
        told = rows[rows >= 0]
        searcher.tell(asked[rows >= 0], archive.F[told], archive.G[told])
        searcher.stalled = 0 if len(new) else searcher.stalled + 1  # before the save, which records it
        if saver is not None:
            saver.generation_done(new, values, generation, np.all(G <= 0, axis=1))
        if on_generation is not None:
            on_generation(generation, archive)
    if saver is not None:
        saver.flush()
    return SearchOutcome(archive, searcher.generation, stopped)


class _Saver:
    """Appends each generation's rows to results.csv, then the state that counts them."""

    def __init__(self, space, evaluator, searcher, archive, run_dir, every_s):
        self.searcher, self.archive, self.run_dir, self.every_s = searcher, archive, run_dir, every_s
        # rows of a generation a kill interrupted (or of a run killed before its first state) are dropped
        # just before the first new rows are appended: a resume that fails before then changes nothing
        self.kept: int | None = len(archive)
        self.formatter = RowFormatter(space, evaluator.metric_names)
        self.pending: list[str] = []
        self.last = time.perf_counter()

    def generation_done(self, new, values, generation, feasible) -> None:
        self.pending.append(self.formatter.lines(new, values, generation, feasible))
        if time.perf_counter() - self.last >= self.every_s:
            self.flush()

    def flush(self) -> None:
        if self.kept is not None:
            self.run_dir.truncate_results(self.kept)
            self.kept = None
        self.run_dir.append_lines("".join(self.pending), self.formatter.header)
        self.pending = []
        self.run_dir.save_state({"rows": len(self.archive), "generation": self.searcher.generation,
                                 "searcher": self.searcher.state_dict()})
        self.last = time.perf_counter()
