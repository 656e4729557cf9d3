"""LINAS (DyNAS-T's lightweight iterative NAS): predictors in the loop.

Loop: evaluate a population with the real (expensive) objectives; fit one cheap predictor per
objective (and per constraint) on every subnet evaluated so far; run an inner NSGA-II on the
predictors for ``inner_evals`` evaluations; take its final population as the next population to
evaluate; repeat. As DyNAS-T, every objective is modeled (accuracy and latency alike), so the outer
budget is spent only on subnets the predictors think are on the front.

Two departures, both options: the next population holds only subnets not evaluated yet (the
inner run's final population first, topped up from everything the inner run scored, ranked by
predicted front and crowding), so no outer evaluation is wasted on a repeat; and a space small
enough (``inner="auto"``: at most ``inner_evals`` genomes) is scored exhaustively instead of by
the inner NSGA-II, which gives the inner loop's exact optimum at the same predictor cost.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .._searcher import register_searcher, sample_feasible
from ..options import check_option, flag, integer, one_of
from ..pareto import select_best
from ..replay import ReplayedSearcher
from ._pymoo import PymooAskTell, make_algorithm
from ._surrogates import SURROGATES, Surrogate

INNER = ("auto", "nsga2", "exhaustive")


@register_searcher("linas")
class LINASSearcher(ReplayedSearcher):
    # DyNAS-T: population 50, inner loop 20,000 predictor evaluations (OFA-MobileNetV3), NSGA-II inside
    defaults = {"population": 50, "inner_evals": 20000, "inner_population": None, "predictor": "dynast",
                "features": "onehot", "inner": "auto", "novel_only": True}
    presets = {"dynast": {"novel_only": False, "inner": "nsga2"}}
    # features: checked against the space's feature kinds in _check_options
    # inner_evals counts individuals too: the inner run keeps every genome it scored
    option_specs = {"population": integer(2, individuals=True), "inner_evals": integer(1, individuals=True),
                    "inner_population": integer(2, optional=True, individuals=True),
                    "predictor": one_of(*SURROGATES), "inner": one_of(*INNER), "novel_only": flag()}

    def _check_options(self) -> None:
        kinds = one_of(*self.space.feature_kinds())
        kinds = replace(kinds, what=f"{kinds.what} for space {self.space.name}")
        self.options["features"] = check_option(self.name, "features", self.options["features"], kinds)

    def _reset(self, resuming: bool = False) -> None:
        self.predictions: np.ndarray | None = None  # predicted F of the last asked population

    # ------------------------------------------------------------------ ask
    def _ask(self) -> np.ndarray:
        n = int(self.options["population"])
        archive = self.archive
        if self.generation == 0 or archive is None or len(archive) < 4:
            return self._random(n)  # DyNAS-T's first loop: a random population
        X = self.space.features(archive.genomes, self.options["features"])
        targets = np.concatenate([archive.F, archive.G], axis=1)
        surrogate = Surrogate(self.options["predictor"], seed=self.seed + self.generation).fit(X, targets)
        pool, final = self._inner(surrogate)
        if self.options["novel_only"]:
            pool = pool[archive.new_mask(pool)]
        else:
            pool = final
        if len(pool) == 0:
            return self._random(n)
        predicted = surrogate.predict(self.space.features(pool, self.options["features"]))
        F, G = predicted[:, : self.n_objectives], predicted[:, self.n_objectives:]
        in_final = np.isin(self.space.keys_of(pool), self.space.keys_of(final))
        violation = np.clip(G, 0, None).sum(axis=1) if G.shape[1] else np.zeros(len(pool))
        # the inner run's final population first (DyNAS-T takes exactly it), then the best of the rest
        first = np.flatnonzero(in_final)[select_best(F[in_final], n, violation[in_final])]
        rest = np.flatnonzero(~in_final)[select_best(F[~in_final], n - len(first), violation[~in_final])]
        picked = pool[np.concatenate([first, rest])[:n]]
        if len(picked) < n and self.options["novel_only"]:
            picked = np.concatenate([picked, self._random(n - len(picked), exclude=picked)])
        self.predictions = F[np.concatenate([first, rest])[:n]]
        return picked

    def _random(self, n: int, exclude: np.ndarray | None = None) -> np.ndarray:
        def propose(k: int) -> np.ndarray:
            genomes = self.space.sample(k, self.rng)
            if self.archive is not None:
                genomes = genomes[self.archive.new_mask(genomes)]
            if exclude is not None and len(exclude):
                genomes = genomes[~np.isin(self.space.keys_of(genomes), self.space.keys_of(exclude))]
            return genomes

        return sample_feasible(self.space, n, self.rng, self.is_feasible, propose)

    def _inner(self, surrogate: Surrogate) -> tuple[np.ndarray, np.ndarray]:
        """(every genome the inner loop scored, its final population)."""
        o = self.options
        evals = int(o["inner_evals"])
        n_all = int(np.prod(self.space.n_options.astype(float)))
        if o["inner"] == "exhaustive" or (o["inner"] == "auto" and n_all <= evals):
            genomes = np.indices(tuple(self.space.n_options)).reshape(self.space.n_genes, -1).T
            genomes = np.ascontiguousarray(genomes, dtype=np.int64)
            if self.is_feasible is not None:
                genomes = genomes[self.is_feasible(genomes)]
            predicted = surrogate.predict(self.space.features(genomes, o["features"]))
            pop = int(o["inner_population"] or o["population"])
            G = predicted[:, self.n_objectives:]
            violation = np.clip(G, 0, None).sum(axis=1) if G.shape[1] else None
            return genomes, genomes[select_best(predicted[:, : self.n_objectives], pop, violation)]
        pop = int(o["inner_population"] or o["population"])
        inner_options = {"population": pop, "crossover_prob": 0.9, "crossover_eta": 15.0, "mutation_eta": 20.0}
        algorithm = make_algorithm("nsga2", self.space, self.n_objectives, inner_options,
                                   self.seed * 100_003 + self.generation, lambda: None, self.is_feasible)
        driver = PymooAskTell(algorithm, self.space, self.n_objectives, self.n_constraints)
        seen: list[np.ndarray] = []
        for _ in range(max(1, evals // pop)):
            genomes = driver.ask()
            if len(genomes) == 0:
                break
            predicted = surrogate.predict(self.space.features(genomes, o["features"]))
            driver.tell(genomes, predicted[:, : self.n_objectives], predicted[:, self.n_objectives:])
            seen.append(genomes)
        pool = np.concatenate(seen) if seen else np.empty((0, self.space.n_genes), dtype=np.int64)
        _, first = np.unique(self.space.keys_of(pool), return_index=True)
        return pool[np.sort(first)], driver.population[0]

    def _tell(self, genomes: np.ndarray, F: np.ndarray, G: np.ndarray) -> None:
        pass  # everything LINAS learns from lives in the archive
