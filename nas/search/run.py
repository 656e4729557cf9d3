"""The search loop: ask -> evaluate new subnets -> tell -> record, resumable after every generation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from search_spaces import SearchSpace

from ..errors import RunDirectoryError
from ..results.run_dir import RunDirectory
from ..results.tables import genomes_from_results, results_rows
from ._searcher import Searcher
from .archive import Archive
from .evaluator import Evaluator

__all__ = ["SearchOutcome", "run_search", "restore_archive"]


@dataclass
class SearchOutcome:
    archive: Archive
    generations: int
    stopped: str  # "budget" | "generations" | "stalled"


def restore_archive(space: SearchSpace, evaluator: Evaluator, run_dir: RunDirectory, state: dict) -> Archive:
    """Rebuild the archive from ``results.csv`` (keeping only rows of completed generations)."""
    df = run_dir.truncate_results(int(state["rows"]))
    archive = Archive(space, evaluator.metric_names)
    if df.empty:
        return archive
    missing = [m for m in evaluator.metric_names if m not in df.columns]
    if missing:
        raise RunDirectoryError(f"{run_dir.file(run_dir.RESULTS)} lacks the column {missing[0]!r} this run records")
    genomes = genomes_from_results(space, df)
    gens = df["generation"].to_numpy(np.int64)
    for g in np.unique(gens):
        rows = gens == g
        archive.add(genomes[rows], {m: df[m].to_numpy(float)[rows] for m in evaluator.metric_names}, int(g))
    return archive


def run_search(space: SearchSpace, evaluator: Evaluator, searcher: Searcher, *, budget: int,
               max_generations: int | None = None, run_dir: RunDirectory | None = None,
               archive: Archive | None = None, stall_generations: int = 50,
               on_generation: Callable[[int, Archive], None] | None = None) -> SearchOutcome:
    """Run until ``budget`` unique subnets are evaluated (or ``max_generations``, or the searcher stalls).

    With ``run_dir`` every generation's new rows are appended to ``results.csv`` and the searcher
    state is saved after them, so ``nas search --resume`` continues exactly where this stopped.
    """
    archive = archive if archive is not None else Archive(space, evaluator.metric_names)
    searcher.archive = archive
    stalled = 0
    stopped = "budget"
    while len(archive) < budget:
        if max_generations is not None and searcher.generation >= max_generations:
            stopped = "generations"
            break
        if stalled >= stall_generations:
            stopped = "stalled"
            break
        generation = searcher.generation
        asked = space.check_genomes(searcher.ask())
        new_rows = np.nonzero(archive.new_mask(asked))[0][: budget - len(archive)]
        new = asked[new_rows]
        values = evaluator.evaluate(new)
        archive.add(new, values, generation)
        rows = archive.lookup(asked)
        told = rows >= 0
        known = archive.values_for(rows[told])
        searcher.tell(asked[told], evaluator.F(known), evaluator.G(known))
        if run_dir is not None:
            feasible = np.all(evaluator.G(values) <= 0, axis=1) if len(new) else np.zeros(0, dtype=bool)
            run_dir.append_results(results_rows(space, new, values, generation, feasible))
            run_dir.save_state({"rows": len(archive), "generation": searcher.generation,
                                "searcher": searcher.state_dict()})
        stalled = 0 if len(new) else stalled + 1
        if on_generation is not None:
            on_generation(generation, archive)
    return SearchOutcome(archive, searcher.generation, stopped)
