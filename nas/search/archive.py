"""The archive: every unique subnet a run has evaluated, with its metric values, F, G and generation.

Rows are kept in evaluation order in growable numpy buffers (amortized O(1) appends), so a run of
a million subnets never re-concatenates its history; lookups go through one dict of genome keys.
"""

from __future__ import annotations

import numpy as np

from search_spaces import SearchSpace

__all__ = ["Archive"]


class _Buffer:
    """A numpy array that grows by doubling; ``view`` is the filled part."""

    def __init__(self, shape_tail: tuple[int, ...], dtype):
        self._data = np.empty((64, *shape_tail), dtype=dtype)
        self.n = 0

    def extend(self, rows: np.ndarray) -> None:
        need = self.n + len(rows)
        if need > len(self._data):
            grown = np.empty((max(need, 2 * len(self._data)), *self._data.shape[1:]), dtype=self._data.dtype)
            grown[: self.n] = self._data[: self.n]
            self._data = grown
        self._data[self.n:need] = rows
        self.n = need

    @property
    def view(self) -> np.ndarray:
        return self._data[: self.n]


class Archive:
    """Unique evaluated genomes (equivalent networks share one entry), their metric values, and the
    minimized objectives ``F`` / constraint violations ``G`` searchers were told."""

    def __init__(self, space: SearchSpace, metric_names: list[str]):
        self.space = space
        self.metric_names = list(metric_names)
        self._index: dict[bytes, int] = {}
        self._genomes = _Buffer((space.n_genes,), np.int64)
        self._values = {m: _Buffer((), np.float64) for m in self.metric_names}
        self._generations = _Buffer((), np.int64)
        self._F: _Buffer | None = None
        self._G: _Buffer | None = None

    def __len__(self) -> int:
        return self._genomes.n

    def _keys(self, genomes: np.ndarray) -> list[bytes]:
        return self.space.keys_of(genomes).tolist()

    def lookup(self, genomes: np.ndarray) -> np.ndarray:
        """Archive row of each genome, or -1 where it has not been evaluated."""
        get = self._index.get
        return np.fromiter((get(k, -1) for k in self._keys(genomes)), dtype=np.int64, count=len(genomes))

    def new_mask(self, genomes: np.ndarray) -> np.ndarray:
        """True for genomes neither in the archive nor repeated earlier in this batch."""
        mask = np.zeros(len(genomes), dtype=bool)
        if len(genomes) == 0:
            return mask
        keys = self.space.keys_of(genomes)
        _, first = np.unique(keys, return_index=True)
        index = self._index
        first = first[np.fromiter((k not in index for k in keys[first].tolist()), dtype=bool, count=len(first))]
        mask[first] = True
        return mask

    def add(self, genomes: np.ndarray, values: dict[str, np.ndarray], generation: int,
            F: np.ndarray | None = None, G: np.ndarray | None = None) -> None:
        """Append newly evaluated subnets (never already archived) with what searchers were told."""
        if len(genomes) == 0:
            return
        start = len(self)
        keys = self._keys(genomes)
        fresh = dict(zip(keys, range(start, start + len(keys))))
        if len(fresh) != len(keys) or any(k in self._index for k in keys):
            raise ValueError("archive.add got a genome that is already archived")
        self._index.update(fresh)
        self._genomes.extend(np.asarray(genomes, dtype=np.int64))
        for m in self.metric_names:
            self._values[m].extend(np.asarray(values[m], dtype=np.float64).reshape(-1))
        self._generations.extend(np.full(len(genomes), generation, dtype=np.int64))
        if F is not None:
            F = np.asarray(F, dtype=np.float64).reshape(len(genomes), -1)
            G = np.zeros((len(genomes), 0)) if G is None else np.asarray(G, dtype=np.float64).reshape(len(genomes), -1)
            if self._F is None:
                if start:
                    raise ValueError("archive rows without F/G cannot be followed by rows with them")
                self._F, self._G = _Buffer((F.shape[1],), np.float64), _Buffer((G.shape[1],), np.float64)
            self._F.extend(F)
            self._G.extend(G)
        elif self._F is not None:
            raise ValueError("this archive records F and G: pass them to add()")

    @property
    def genomes(self) -> np.ndarray:
        return self._genomes.view

    @property
    def values(self) -> dict[str, np.ndarray]:
        return {m: b.view for m, b in self._values.items()}

    @property
    def generations(self) -> np.ndarray:
        return self._generations.view

    @property
    def F(self) -> np.ndarray:
        """Minimized objectives of every row (``[n, n_objectives]``), as searchers were told them."""
        if self._F is None:
            raise ValueError("this archive does not record F")
        return self._F.view

    @property
    def G(self) -> np.ndarray:
        if self._G is None:
            raise ValueError("this archive does not record G")
        return self._G.view

    @property
    def has_scores(self) -> bool:
        return self._F is not None

    def values_for(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {m: v[rows] for m, v in self.values.items()}

    def generation_bounds(self, n_generations: int) -> np.ndarray:
        """Row offsets where each generation 0..n starts (rows are stored in generation order)."""
        return np.searchsorted(self.generations, np.arange(n_generations + 1), side="left")

    def empty_like(self) -> "Archive":
        return Archive(self.space, self.metric_names)
