"""A rich progress bar for searches: evaluated subnets, generation, best feasible value, front size."""

from __future__ import annotations

import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..search import Archive, format_value
from ..search.assemble import SearchProblem

__all__ = ["SearchProgress"]


class SearchProgress:
    def __init__(self, budget: int, enabled: bool = True, refresh_s: float = 0.5):
        self.progress = Progress(TextColumn("[bold]searching"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("gen {task.fields[gen]}"), TextColumn("{task.fields[status]}"),
                                 TimeElapsedColumn(), disable=not enabled, transient=False)
        self.task = self.progress.add_task("search", total=budget, gen=0, status="")
        self.refresh_s = refresh_s
        self._last = 0.0
        self._started = False

    def __enter__(self) -> "SearchProgress":
        return self  # the bar appears with the first finished generation, not before input is validated

    def __exit__(self, *exc) -> None:
        if self._started:
            self.progress.__exit__(*exc)

    def __call__(self, generation: int, archive: Archive, problem: SearchProblem) -> None:
        if not self._started:
            self._started = True
            self.progress.__enter__()
        now = time.perf_counter()
        status = None
        if now - self._last >= self.refresh_s:
            self._last = now
            status = self._status(archive, problem)
        fields = {"gen": generation + 1} | ({"status": status} if status is not None else {})
        self.progress.update(self.task, completed=len(archive), **fields)

    @staticmethod
    def _status(archive: Archive, problem: SearchProblem) -> str:
        # the archive keeps its best feasible row and feasible front incrementally: a status costs what the
        # rows added since the last one cost, not a sort of the whole archive
        row = archive.best_row()
        if row < 0:
            return "no feasible subnet yet"
        first = problem.evaluator.objectives[0]
        best = archive.values[first.name][row]
        return f"best {first.name} {format_value(first.name, best)} | front {len(archive.front_rows())}"
