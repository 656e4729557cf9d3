"""Random search: uniform samples, never re-proposing an evaluated subnet."""

from __future__ import annotations

import numpy as np

from .._searcher import Searcher, register_searcher, sample_feasible


@register_searcher("random")
class RandomSearcher(Searcher):
    defaults = {"batch_size": 100}

    def ask(self) -> np.ndarray:
        def propose(k: int) -> np.ndarray:
            genomes = self.space.sample(k, self.rng)
            return genomes[self.archive.new_mask(genomes)] if self.archive is not None else genomes

        return sample_feasible(self.space, int(self.options["batch_size"]), self.rng, self.is_feasible, propose)

    def tell(self, genomes: np.ndarray, F: np.ndarray, G: np.ndarray) -> None:
        self.generation += 1
