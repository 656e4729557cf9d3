"""The Searcher contract (ask / tell / state_dict / load_state_dict) and the searcher registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np

from search_spaces import Registry, SearchSpace
from search_spaces.errors import InvalidInput, NasError

from .archive import Archive
from .options import OptionSpec, check_memory, check_options

__all__ = ["Searcher", "SEARCHERS", "register_searcher", "create_searcher", "list_searchers", "NoFeasibleSubnet",
           "sample_feasible"]


class NoFeasibleSubnet(NasError):
    """The constraints rule out every subnet the searcher could find."""


class Searcher(ABC):
    """Proposes genomes (``ask``) and learns from their objective values (``tell``).

    ``F`` is ``[n, n_objectives]`` (minimized), ``G`` is ``[n, n_constraints]`` (<= 0 feasible); the
    searcher is told G for every constraint, cheap or not.
    ``state_dict`` must be JSON-able and capture everything (RNG included) so that a run resumed
    from it ends exactly where an uninterrupted run ends. ``archive`` (shared, read-only here) holds
    every subnet evaluated so far (with the ``F``/``G`` it was told); ``is_feasible`` (optional) checks
    cheap constraints before asking; ``workdir`` (optional) is the run directory, for searchers that keep
    files of their own (Optuna's journal).
    """

    name: ClassVar[str] = ""
    #: documented default options; ``presets`` map a name to overrides (e.g. a paper's settings)
    defaults: ClassVar[dict[str, Any]] = {}
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    #: type and range of each option (see ``nas.search.options``), checked when the searcher is built
    option_specs: ClassVar[dict[str, OptionSpec]] = {}

    def __init__(self, space: SearchSpace, *, n_objectives: int, n_constraints: int = 0, seed: int = 0,
                 archive: Archive | None = None,
                 is_feasible: Callable[[np.ndarray], np.ndarray] | None = None, preset: str | None = None,
                 workdir: str | Path | None = None, **options: Any):
        if not 1 <= n_objectives <= 3:
            raise InvalidInput(f"searchers optimize 1 to 3 objectives, got {n_objectives}")
        self.space = space
        self.workdir = Path(workdir) if workdir is not None else None
        self.n_objectives = n_objectives
        self.n_constraints = n_constraints
        self.seed = seed
        self.archive = archive
        self.is_feasible = is_feasible
        self.rng = np.random.default_rng(seed)
        self.generation = 0
        self.stalled = 0  # generations in a row that found no new subnet (the search loop counts them)
        if preset is not None and (not isinstance(preset, str) or preset not in self.presets):
            known = ", ".join(self.presets) or "none"
            raise InvalidInput(f"unknown preset {preset!r} for searcher {self.name}; known presets: {known}")
        merged = {**self.defaults, **(self.presets.get(preset, {}) if preset else {})}
        unknown = [k for k in options if k not in self.defaults]
        if unknown:
            raise InvalidInput(
                f"unknown option {unknown[0]!r} for searcher {self.name}; known options: "
                f"{', '.join(self.defaults) or 'none'}"
            )
        merged.update(options)
        self.options = check_options(self.name, merged, self.option_specs)
        check_memory(self.name, self.options, self.option_specs, space.n_genes)
        self._check_options()

    def set_n_constraints(self, n: int) -> None:
        """Match the number of constraints the search loop will tell (it knows them; callers may not)."""
        self.n_constraints = int(n)

    def _check_options(self) -> None:  # noqa: B027  (an optional hook)
        """Raise ``InvalidInput`` for option values the searcher cannot use (hook)."""

    def check_budget(self, budget: int) -> None:  # noqa: B027  (an optional hook)
        """Raise ``InvalidInput`` when a run of ``budget`` subnets cannot do what this searcher is for;
        called before a run directory is written."""

    @abstractmethod
    def ask(self) -> np.ndarray:
        """Genomes to evaluate next: ``[k, n_genes]``."""

    @abstractmethod
    def tell(self, genomes: np.ndarray, F: np.ndarray, G: np.ndarray) -> None:
        """Objective values of (a subset of) the last asked genomes."""

    def state_dict(self) -> dict:
        return {"searcher": self.name, "generation": self.generation, "stalled": self.stalled,
                "rng": self.rng.bit_generator.state, "options": self.options, **self._extra_state()}

    def load_state_dict(self, state: dict) -> None:
        if state.get("searcher") != self.name:
            raise InvalidInput(f"searcher state is for {state.get('searcher')!r}, not {self.name!r}")
        self.generation = int(state["generation"])
        self.stalled = int(state.get("stalled", 0))  # states saved before it was recorded: 0
        self.rng.bit_generator.state = state["rng"]
        self._load_extra_state(state)

    def _extra_state(self) -> dict:
        return {}

    def _load_extra_state(self, state: dict) -> None:  # noqa: B027  (an optional hook)
        pass


def sample_feasible(space: SearchSpace, n: int, rng: np.random.Generator,
                    is_feasible: Callable[[np.ndarray], np.ndarray] | None,
                    propose: Callable[[int], np.ndarray] | None = None, max_rounds: int = 200) -> np.ndarray:
    """``n`` genomes from ``propose`` (default: uniform samples) that pass ``is_feasible`` (rejection)."""
    propose = propose or (lambda k: space.sample(k, rng))
    if is_feasible is None:
        return propose(n)
    kept: list[np.ndarray] = []
    total, tried = 0, 0
    for _ in range(max_rounds):
        batch = propose(max(2 * (n - total), 16))
        tried += len(batch)
        ok = batch[is_feasible(batch)]
        kept.append(ok)
        total += len(ok)
        if total >= n:
            return np.concatenate(kept)[:n]
    if total:
        return np.concatenate(kept)
    raise NoFeasibleSubnet(f"no subnet among {tried} candidates satisfies the constraints; loosen them")


SEARCHERS: Registry[type[Searcher]] = Registry("searcher", entry_point_group="nas.searchers")


def register_searcher(name: str):
    """Class decorator: registers a searcher (and sets ``cls.name``)."""
    return SEARCHERS.register_class(name)


def create_searcher(name: str, space: SearchSpace, **kwargs: Any) -> Searcher:
    return SEARCHERS.get(name)(space, **kwargs)


def list_searchers() -> list[str]:
    return SEARCHERS.names()
