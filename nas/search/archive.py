"""The archive: every unique subnet a run has evaluated, with its metric values and generation."""

from __future__ import annotations

import numpy as np

from search_spaces import SearchSpace

__all__ = ["Archive"]


class Archive:
    """Unique evaluated genomes (equivalent networks share one entry) and their metric values."""

    def __init__(self, space: SearchSpace, metric_names: list[str]):
        self.space = space
        self.metric_names = list(metric_names)
        self._index: dict[bytes, int] = {}
        self._genomes: list[np.ndarray] = []
        self._values: dict[str, list[np.ndarray]] = {m: [] for m in self.metric_names}
        self._generations: list[np.ndarray] = []
        self._cache: tuple | None = None

    def __len__(self) -> int:
        return len(self._index)

    def lookup(self, genomes: np.ndarray) -> np.ndarray:
        """Archive row of each genome, or -1 where it has not been evaluated."""
        return np.fromiter((self._index.get(k.tobytes(), -1) for k in self.space.keys_of(genomes)),
                           dtype=np.int64, count=len(genomes))

    def new_mask(self, genomes: np.ndarray) -> np.ndarray:
        """True for genomes neither in the archive nor repeated earlier in this batch."""
        seen = set(self._index)
        mask = np.zeros(len(genomes), dtype=bool)
        for i, key in enumerate(self.space.keys_of(genomes)):
            k = key.tobytes()
            if k not in seen:
                seen.add(k)
                mask[i] = True
        return mask

    def add(self, genomes: np.ndarray, values: dict[str, np.ndarray], generation: int) -> None:
        if len(genomes) == 0:
            return
        start = len(self._index)
        for i, key in enumerate(self.space.keys_of(genomes)):
            k = key.tobytes()
            if k in self._index:
                raise ValueError("archive.add got a genome that is already archived")
            self._index[k] = start + i
        self._genomes.append(np.asarray(genomes, dtype=np.int64))
        for m in self.metric_names:
            self._values[m].append(np.asarray(values[m], dtype=np.float64))
        self._generations.append(np.full(len(genomes), generation, dtype=np.int64))
        self._cache = None

    def _arrays(self) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        if self._cache is None:
            n_genes = self.space.n_genes
            genomes = np.concatenate(self._genomes) if self._genomes else np.empty((0, n_genes), dtype=np.int64)
            values = {m: np.concatenate(v) if v else np.empty(0) for m, v in self._values.items()}
            gens = np.concatenate(self._generations) if self._generations else np.empty(0, dtype=np.int64)
            self._cache = (genomes, values, gens)
        return self._cache

    @property
    def genomes(self) -> np.ndarray:
        return self._arrays()[0]

    @property
    def values(self) -> dict[str, np.ndarray]:
        return self._arrays()[1]

    @property
    def generations(self) -> np.ndarray:
        return self._arrays()[2]

    def values_for(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {m: v[rows] for m, v in self.values.items()}
