"""Random search: uniform samples, never re-proposing an evaluated subnet.

In spaces small enough to enumerate (at most ``ENUMERATE_LIMIT`` genomes) it draws without
replacement from the subnets not evaluated yet, so it can exhaust the space: rejection sampling
alone stalls once almost every subnet has been seen.
"""

from __future__ import annotations

import numpy as np

from .._searcher import Searcher, register_searcher, sample_feasible
from ..options import integer

ENUMERATE_LIMIT = 100_000


@register_searcher("random")
class RandomSearcher(Searcher):
    defaults = {"batch_size": 100}
    option_specs = {"batch_size": integer(1, individuals=True)}

    def ask(self) -> np.ndarray:
        n = int(self.options["batch_size"])
        n_genomes = int(np.prod(self.space.n_options.astype(float)))
        if self.archive is not None and n_genomes <= ENUMERATE_LIMIT:
            return self._from_unseen(n)

        def propose(k: int) -> np.ndarray:
            genomes = self.space.sample(k, self.rng)
            return genomes[self.archive.new_mask(genomes)] if self.archive is not None else genomes

        return sample_feasible(self.space, n, self.rng, self.is_feasible, propose)

    def _from_unseen(self, n: int) -> np.ndarray:
        every = np.indices(tuple(self.space.n_options)).reshape(self.space.n_genes, -1).T
        unseen = np.ascontiguousarray(every, dtype=np.int64)[self.archive.new_mask(every)]
        if self.is_feasible is not None and len(unseen):
            unseen = unseen[self.is_feasible(unseen)]
        return unseen[self.rng.choice(len(unseen), size=min(n, len(unseen)), replace=False)]

    def tell(self, genomes: np.ndarray, F: np.ndarray, G: np.ndarray) -> None:
        self.generation += 1
