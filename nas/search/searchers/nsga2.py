"""NSGA-II (or AGE-MOEA, U-NSGA-III) from pymoo on integer genomes, as DyNAS-T runs it.

Defaults follow DyNAS-T's ``configure_nsga2``: SBX (probability 0.9, eta 15) and polynomial
mutation (eta 20) on the genes as floats with ``RoundingRepair``, duplicate elimination. Polynomial
mutation touches each gene with probability 1/n_genes (pymoo's default; DyNAS-T's ``prob=0.02`` was
written for pymoo 0.5, where it meant the same per-variable rate for 45 genes). Children repeat no
evaluated subnet (``novel_only``), so the budget buys only new subnets; when mating finds too few
within ``mating_rounds`` tries, uniform unseen subnets fill the batch (``immigrants``). Resume
replays the run.

``engine``: NSGA-II runs by default on arrays (``_nsga2_arrays``: pymoo's generation step by step, its
sorting, crowding and SBX/PM functions, without a Python object per individual: 10x faster at large
populations); ``engine=pymoo`` drives pymoo's ``NSGA2`` object itself, as AGE-MOEA and U-NSGA-III
always are. The engine is recorded in the searcher state: a state saved before the array engine
existed (no ``engine`` in it) resumes on pymoo's objects, so old run directories end as they would have.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from search_spaces.errors import InvalidInput

from ...errors import RunDirectoryError
from .._searcher import register_searcher
from ..options import flag, integer, number, one_of
from ..replay import ReplayedSearcher
from ._nsga2_arrays import ArrayNSGA2
from ._pymoo import ALGORITHMS, PymooAskTell, fresh_samples, make_algorithm

ENGINES = ("arrays", "pymoo")


@register_searcher("nsga2")
class NSGA2Searcher(ReplayedSearcher):
    defaults = {"population": 100, "algorithm": "nsga2", "offspring": None, "crossover_prob": 0.9,
                "crossover_eta": 15.0, "mutation_eta": 20.0, "mutation_prob": None, "novel_only": True,
                "mating_rounds": 10, "immigrants": True, "engine": None}
    presets = {
        "dynast": {"population": 50},
        "age-moea": {"algorithm": "age-moea", "population": 50},
        # DyNAS-T's U-NSGA-III for 3 objectives: crossover probability 1.0, eta 30
        "unsga3": {"algorithm": "unsga3", "population": 50, "crossover_prob": 1.0, "crossover_eta": 30.0},
    }
    # eta: the spread of SBX and polynomial mutation (pymoo's distribution index, >= 0)
    option_specs = {"population": integer(2, individuals=True), "algorithm": one_of(*ALGORITHMS),
                    "offspring": integer(1, optional=True, individuals=True),
                    "crossover_prob": number(0, 1), "crossover_eta": number(0), "mutation_eta": number(0),
                    "mutation_prob": number(0, 1, optional=True), "novel_only": flag(), "mating_rounds": integer(1),
                    "immigrants": flag(), "engine": replace(one_of(*ENGINES), optional=True)}

    def _check_options(self) -> None:
        population = self.options["population"]
        if self.options["algorithm"] == "unsga3" and population < self.n_objectives:  # one reference direction each
            raise InvalidInput(f"nsga2 option population must be at least the number of objectives "
                               f"({self.n_objectives}) with algorithm unsga3, got {population}")
        if self.options["engine"] == "arrays" and self.options["algorithm"] != "nsga2":
            raise InvalidInput(f"nsga2 option engine=arrays runs only algorithm nsga2; {self.options['algorithm']} "
                               "runs on pymoo's objects (drop engine or pass engine=pymoo)")
        # the default: arrays for NSGA-II; a loaded state may say otherwise (load_state_dict)
        self._engine = self.options["engine"] or ("arrays" if self.options["algorithm"] == "nsga2" else "pymoo")

    def _reset(self, resuming: bool = False) -> None:
        archive = (lambda: self.archive) if self.options["novel_only"] else (lambda: None)
        if self._engine == "arrays":
            immigrants = None
            if self.options["immigrants"] and self.options["novel_only"]:
                rng = np.random.default_rng([self.seed, 1])  # as the pymoo path's immigrants

                def immigrants(n: int, asked: np.ndarray) -> np.ndarray:
                    return fresh_samples(self.space, n, rng, self.archive, self.is_feasible, exclude=asked)

            self._driver = ArrayNSGA2(self.space, self.n_objectives, self.n_constraints, self.options, self.rng,
                                      archive, self.is_feasible, immigrants)
            return
        algorithm = make_algorithm(self.options["algorithm"], self.space, self.n_objectives, self.options,
                                   self.seed, archive, self.is_feasible)
        immigrants = None
        if self.options["immigrants"] and self.options["novel_only"]:
            rng = np.random.default_rng([self.seed, 1])

            def immigrants(n: int, asked: np.ndarray) -> np.ndarray:
                return fresh_samples(self.space, n, rng, self.archive, self.is_feasible, exclude=asked)

        self._driver = PymooAskTell(algorithm, self.space, self.n_objectives, self.n_constraints, immigrants)

    def state_dict(self) -> dict:
        state = super().state_dict()
        if getattr(self, "_pending_state", None) is None:  # a pending (not yet replayed) state is passed on as loaded
            state = {**state, "engine": self._engine}
        return state

    def load_state_dict(self, state: dict) -> None:
        if state.get("searcher") == self.name:
            engine = state.get("engine", "pymoo")  # states saved before the array engine: pymoo's objects
            if engine not in ENGINES:
                raise RunDirectoryError(f"nsga2 state names an unknown engine {engine!r}; known: {', '.join(ENGINES)}")
            if self.options["engine"] not in (None, engine):
                raise InvalidInput(f"nsga2 option engine={self.options['engine']} differs from the engine the saved "
                                   f"run used ({engine}); drop the option to resume it")
            self._engine = engine
        super().load_state_dict(state)

    def _ask(self) -> np.ndarray:
        return self._driver.ask()

    def _tell(self, genomes: np.ndarray, F: np.ndarray, G: np.ndarray) -> None:
        if G.shape[1] != self.n_constraints:
            raise InvalidInput(f"nsga2 was created for {self.n_constraints} constraints but told {G.shape[1]}")
        self._driver.tell(genomes, F, G)

    @property
    def asked_keys(self):
        """The archive keys of the last asked batch, when the array engine's novelty check computed them."""
        return getattr(self._driver, "asked_keys", None)

    @property
    def population(self) -> tuple[np.ndarray, np.ndarray]:
        return self._driver.population
