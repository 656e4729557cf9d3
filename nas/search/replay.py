"""Searchers whose state is rebuilt by replaying the run's history (pymoo, Optuna, LINAS).

Their libraries keep state that is not JSON-able (pymoo's survival bookkeeping, Optuna's storage,
fitted regressors). Instead of pickling it, the saved state is just (seed, options, generation) plus
a fingerprint: ``load_state_dict`` starts the searcher afresh with the same seed and re-runs every
completed generation, asking exactly as before and telling it the ``F``/``G`` the archive recorded,
while the searcher sees the archive as it was at that generation. Asking is deterministic, so the
replayed searcher ends in the very state the interrupted one had; the fingerprint of its last asked
batch proves it (a mismatch raises instead of silently resuming something else).
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod

import numpy as np

from ..errors import RunDirectoryError
from ._searcher import Searcher

__all__ = ["ReplayedSearcher"]


def _digest(genomes: np.ndarray) -> str:
    # the bytes of the int64 genes, hashed in place (no copy of a 10,000-subnet batch)
    return hashlib.sha1(np.ascontiguousarray(genomes, dtype=np.int64).reshape(-1).view(np.uint8)).hexdigest()[:16]


class ReplayedSearcher(Searcher):
    """Subclasses implement ``_reset`` (fresh library state from ``self.seed``), ``_ask`` and ``_tell``."""

    def __init__(self, space, **kwargs):
        super().__init__(space, **kwargs)
        self._last_asked: np.ndarray | None = np.empty((0, space.n_genes), dtype=np.int64)
        self._last_digest: str | None = None
        self._told = 0
        self._reset()

    @abstractmethod
    def _reset(self, resuming: bool = False) -> None:
        """Fresh library state from ``self.seed`` (``resuming``: about to be replayed)."""

    @abstractmethod
    def _ask(self) -> np.ndarray: ...

    @abstractmethod
    def _tell(self, genomes: np.ndarray, F: np.ndarray, G: np.ndarray) -> None: ...

    def ask(self) -> np.ndarray:
        genomes = self.space.check_genomes(self._ask())
        self._last_asked, self._last_digest = genomes, None  # digested only when a state is saved or checked
        return genomes

    @property
    def _last_ask(self) -> str:
        """Fingerprint of the last asked batch (sha1 of its int64 genes)."""
        if self._last_digest is None and self._last_asked is not None:
            self._last_digest = _digest(self._last_asked)
        return self._last_digest

    @_last_ask.setter
    def _last_ask(self, digest: str | None) -> None:  # a searcher restoring its own state (bayesian.py)
        self._last_asked, self._last_digest = None, digest

    def tell(self, genomes: np.ndarray, F: np.ndarray, G: np.ndarray) -> None:
        G = np.asarray(G, dtype=np.float64)
        G = G.reshape(len(genomes), -1) if len(genomes) else G.reshape(0, self.n_constraints)
        self._tell(genomes, np.asarray(F, dtype=np.float64), G)
        self._told += len(genomes)
        self.generation += 1

    def _extra_state(self) -> dict:
        return {"replay": {"last_ask": self._last_ask, "told": self._told}}

    def set_n_constraints(self, n: int) -> None:
        if int(n) != self.n_constraints:
            if self.generation and getattr(self, "_pending_state", None) is None:
                raise RunDirectoryError(f"{self.name} ran {self.generation} generations with {self.n_constraints} "
                                        f"constraints; it cannot continue with {n}")
            super().set_n_constraints(n)
            if getattr(self, "_pending_state", None) is None:
                self._reset()

    @property
    def archive(self):
        return self._archive

    @archive.setter
    def archive(self, value) -> None:
        # a state loaded before the run's archive was attached is replayed as soon as it is
        self._archive = value
        pending = getattr(self, "_pending_state", None)
        if pending is not None and value is not None:
            self._pending_state = None
            self._resume(pending)

    def load_state_dict(self, state: dict) -> None:
        if state.get("searcher") != self.name:
            super().load_state_dict(state)  # raises naming both searchers
        self.stalled = int(state.get("stalled", 0))  # kept by the search loop, not replayed
        if self.archive is None and int(state["generation"]):
            self._pending_state = state  # replayed when the search loop attaches the restored archive
            self.generation = int(state["generation"])
            return
        self._resume(state)

    def state_dict(self) -> dict:
        pending = getattr(self, "_pending_state", None)
        return pending if pending is not None else super().state_dict()

    def _resume(self, state: dict) -> None:
        self.generation, self._told = 0, 0
        self.rng = np.random.default_rng(self.seed)
        self._reset(resuming=True)
        self._replay(int(state["generation"]))
        saved = state.get("replay", {})
        if (self._last_ask, self._told) != (saved.get("last_ask"), saved.get("told")) or \
                self.rng.bit_generator.state != state["rng"]:
            raise RunDirectoryError(
                f"replaying {self.name}'s {state['generation']} generations did not reproduce the saved state "
                "(a different library version or a modified run directory); start a new run"
            )

    def _replay(self, n_generations: int) -> None:
        full = self.archive
        if n_generations and (full is None or not full.has_scores):
            raise RunDirectoryError(f"{self.name} resumes by replaying the run, which needs its archive with F and G")
        if full is None:
            return
        bounds = full.generation_bounds(n_generations)
        if bounds[-1] != len(full):
            raise RunDirectoryError(f"the archive holds rows past generation {n_generations}; cannot replay")
        snapshot = full.prefix(0)  # the searcher sees the archive as it was when it asked (a view, no copy)
        self.archive = snapshot
        try:
            for t in range(n_generations):
                asked = self.ask()
                lo, hi = bounds[t], bounds[t + 1]
                snapshot.set_prefix(int(hi))
                rows = snapshot.lookup(asked)
                told = rows >= 0
                if len(np.unique(rows[rows >= lo])) != hi - lo:
                    raise RunDirectoryError(
                        f"replaying {self.name}: generation {t} asked for other subnets than the run evaluated; "
                        "the run directory was made by another version or setup"
                    )
                self.tell(asked[told], snapshot.F[rows[told]], snapshot.G[rows[told]])
        finally:
            self.archive = full
