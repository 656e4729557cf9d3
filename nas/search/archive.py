"""The archive: every unique subnet a run has evaluated, with its metric values, F, G and generation.

A run of a million subnets must cost per generation what its first generation cost, and hold each
subnet in a few dozen bytes, so nothing here grows a Python object per subnet:

* rows live in numpy buffers that grow geometrically (amortized O(1) appends); genomes in the
  narrowest integer type their option counts allow (int8 for every shipped space: 46 bytes for an
  ofa-mbv3 subnet instead of 368), generations as runs (one entry per generation, not per row);
* de-duplication goes through a 64-bit hash of each canonical genome in an open-addressing table of
  row numbers (linear probing, kept at most half full): 8 bytes of hash per row plus 8 to 16 bytes of
  table, instead of a dict of ``bytes`` keys (about 150 bytes a subnet). A hash match is confirmed by
  comparing the canonical genomes, so a collision can never hide a new subnet;
* the feasible Pareto front of ``F`` and the best feasible row are kept incrementally (merged with
  the rows added since they were last asked for), so a progress display or a summary never sorts the
  whole archive.

``prefix(n)`` is a read-only view of the first ``n`` rows sharing the storage (a replayed searcher
sees the archive as it was when it asked, without a copy).
"""

from __future__ import annotations

import numpy as np

from search_spaces import SearchSpace

__all__ = ["Archive", "Keys"]

_EMPTY = -1


class _Buffer:
    """A numpy array that grows by doubling; ``view`` is the filled part."""

    def __init__(self, shape_tail: tuple[int, ...], dtype, capacity: int = 64):
        self._data = np.empty((capacity, *shape_tail), dtype=dtype)
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

    @property
    def nbytes(self) -> int:
        """Bytes of the filled part (what is resident; the unfilled tail is never touched)."""
        return self.view.nbytes


def _genome_dtype(space: SearchSpace):
    top = int(space.n_options.max(initial=1))
    for dtype in (np.int8, np.int16, np.int32):
        if top <= np.iinfo(dtype).max:
            return dtype
    return np.int64


_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer (a bijection of uint64 that spreads every input bit over the output), in place."""
    x ^= x >> np.uint64(30)
    x *= _MIX1
    x ^= x >> np.uint64(27)
    x *= _MIX2
    x ^= x >> np.uint64(31)
    return x


def _hash_words(words: np.ndarray, salts: np.ndarray) -> np.ndarray:
    """64-bit hashes of rows of uint64 words ``[n, k]``: each word salted by its position and mixed, the
    mixed words summed (wrapping) and mixed once more."""
    mixed = _splitmix(words + salts)
    return _splitmix(mixed.sum(axis=1, dtype=np.uint64))


class Keys:
    """A batch of genomes as the archive indexes them: the genomes in the storage's integer type, their
    canonical forms and 64-bit hashes. Computed once (``Archive.keys``) and passed to ``lookup``,
    ``new_mask`` and ``add``, a generation's genomes are made canonical and hashed once, not per call."""

    __slots__ = ("raw", "canon", "h", "new_in")

    def __init__(self, raw: np.ndarray, canon: np.ndarray, h: np.ndarray):
        self.raw, self.canon, self.h = raw, canon, h
        # (storage, rows): the genomes are distinct and none is among that storage's first rows (Archive.vouch_new);
        # look-ups against that many rows then need no probing. take/concat drop it.
        self.new_in: tuple[object, int] | None = None

    def __len__(self) -> int:
        return len(self.h)

    def take(self, idx) -> "Keys":
        part = Keys(self.raw[idx], self.canon[idx], self.h[idx])
        idx = np.asarray(idx)
        if self.new_in is not None and (idx.dtype == bool or np.all(np.diff(idx) > 0)):
            part.new_in = self.new_in  # rows of distinct new genomes, none twice: still distinct and new
        return part

    @staticmethod
    def concat(parts: list["Keys"]) -> "Keys":
        return Keys(*(np.concatenate([getattr(k, a) for k in parts]) for a in ("raw", "canon", "h")))


class _Store:
    """The rows and the hash table; shared by an archive and its prefix views."""

    def __init__(self, space: SearchSpace, metric_names: list[str]):
        self.space = space
        self.genomes = _Buffer((space.n_genes,), _genome_dtype(space))
        self.hashes = _Buffer((), np.uint64)
        self.values = {m: _Buffer((), np.float64) for m in metric_names}
        self.F: _Buffer | None = None
        self.G: _Buffer | None = None
        self.gen_values: list[int] = []  # one entry per run of rows with the same generation
        self.gen_ends: list[int] = []
        self.table = np.full(64, _EMPTY, dtype=np.int32)
        # canonical genomes packed into whole uint64 words (8 genes a word for int8 genomes) for hashing
        self.key_bytes = space.n_genes * np.dtype(self.genomes.view.dtype).itemsize
        n_words = max(1, -(-self.key_bytes // 8))
        self.salts = np.random.default_rng(0x5EED).integers(0, 2**63, size=n_words, dtype=np.uint64)
        self._genomes64: tuple[int, np.ndarray] | None = None

    @property
    def n(self) -> int:
        return self.genomes.n

    def canonical(self, genomes: np.ndarray) -> np.ndarray:
        """Canonical genomes in the storage's integer type ``[n, n_genes]``."""
        genomes = np.asarray(genomes, dtype=np.int64).reshape(len(genomes), self.space.n_genes)
        return np.ascontiguousarray(self.space.canonical(genomes), dtype=self.genomes.view.dtype)

    def hash(self, canon: np.ndarray) -> np.ndarray:
        packed = np.zeros((len(canon), 8 * len(self.salts)), dtype=np.uint8)
        packed[:, : self.key_bytes] = canon.view(np.uint8).reshape(len(canon), self.key_bytes)
        return _hash_words(packed.view(np.uint64), self.salts)

    def genomes64(self) -> np.ndarray:
        """Every stored genome as int64 (cached until the next append)."""
        if self._genomes64 is None or self._genomes64[0] != self.n:
            self._genomes64 = (self.n, self.genomes.view.astype(np.int64))
        return self._genomes64[1]

    # ------------------------------------------------------------- hash table
    def find(self, canon: np.ndarray, h: np.ndarray, raw: np.ndarray | None = None) -> np.ndarray:
        """Row of each canonical genome, or -1 (vectorized linear probing: follow each hash's chain to
        an empty slot or an equal stored hash, then confirm equal hashes by comparing the genomes).

        ``raw`` (the genomes as given, in the storage's type): a stored genome equal to it needs no
        canonical form to confirm the match (a repeated child usually is its parent, gene for gene)."""
        out = np.full(len(h), -1, dtype=np.int64)
        if self.n == 0 or len(h) == 0:
            return out
        table, mask, stored = self.table, np.uint64(len(self.table) - 1), self.hashes.view
        slot = (h & mask).astype(np.int64)
        todo = np.arange(len(h))
        while todo.size:
            hit_idx, hit_rows = [], []
            while todo.size:
                rows = table[slot[todo]]
                empty = rows == _EMPTY
                equal = ~empty & (stored[rows] == h[todo])  # (rows of -1 read the last hash; masked by ~empty)
                hit_idx.append(todo[equal])
                hit_rows.append(rows[equal])
                todo = todo[~(empty | equal)]
                slot[todo] = (slot[todo] + 1) & int(mask)
            idx, rows = np.concatenate(hit_idx), np.concatenate(hit_rows).astype(np.int64)
            if idx.size == 0:
                break
            kept = self.genomes.view[rows]
            same = np.all(kept == raw[idx], axis=1) if raw is not None else np.zeros(len(idx), dtype=bool)
            if not same.all():
                other = ~same
                same[other] = np.all(self.canonical(kept[other]) == canon[idx[other]], axis=1)
            out[idx[same]] = rows[same]
            todo = idx[~same]  # equal hashes of different genomes (about 1 in 2**64): probe on
            slot[todo] = (slot[todo] + 1) & int(mask)
        return out

    def _place(self, h: np.ndarray, rows: np.ndarray) -> None:
        """Put ``rows`` (not yet in the table) at their hashes' slots; one winner per contested slot (whichever
        write lands: look-ups confirm by hash, so the layout never changes a result), the others probe on."""
        table, mask = self.table, len(self.table) - 1
        slot = (h & np.uint64(mask)).astype(np.int64)
        todo = np.arange(len(rows))
        while todo.size:
            free = todo[table[slot[todo]] == _EMPTY]
            if free.size:
                table[slot[free]] = rows[free]
                won = table[slot[todo]] == rows[todo]
                todo = todo[~won]
            slot[todo] = (slot[todo] + 1) & mask

    def insert(self, h: np.ndarray, start: int) -> None:
        need = self.n + len(h)  # rows after this insert; the table stays at most half full
        if 2 * need > len(self.table):
            size = len(self.table)
            while 2 * need > size:
                size *= 2
            if need > np.iinfo(np.int32).max:
                raise ValueError("an archive holds at most 2**31 - 1 subnets")
            self.table = np.full(size, _EMPTY, dtype=np.int32)
            if start:
                self._place(self.hashes.view[:start], np.arange(start, dtype=np.int64))
        self._place(h, np.arange(start, start + len(h), dtype=np.int64))

    def add_generation(self, generation: int, count: int) -> None:
        if self.gen_values and self.gen_values[-1] == generation:
            self.gen_ends[-1] += count
        else:
            self.gen_values.append(generation)
            self.gen_ends.append(self.n + count)

    def generations(self, n: int) -> np.ndarray:
        ends = np.asarray(self.gen_ends, dtype=np.int64)
        lengths = np.diff(np.r_[0, ends])
        return np.repeat(np.asarray(self.gen_values, dtype=np.int64), lengths)[:n]


class Archive:
    """Unique evaluated genomes (equivalent networks share one entry), their metric values, and the
    minimized objectives ``F`` / constraint violations ``G`` searchers were told."""

    def __init__(self, space: SearchSpace, metric_names: list[str]):
        self.space = space
        self.metric_names = list(metric_names)
        self._store = _Store(space, self.metric_names)
        self._limit: int | None = None  # a prefix view shows only the first _limit rows
        self._front = np.empty(0, dtype=np.int64)  # feasible non-dominated rows of F among the first _front_upto
        self._front_upto = 0
        self._best = -1  # feasible row with the least F[:, 0] among the first _best_upto
        self._best_upto = 0

    def __len__(self) -> int:
        n = self._store.n
        return n if self._limit is None else min(n, self._limit)

    # ------------------------------------------------------------- look-ups
    def keys(self, genomes: np.ndarray, hint: Keys | None = None) -> Keys:
        """The batch's canonical genomes and hashes, for ``lookup``/``new_mask``/``add`` (``keys=``) of the
        same genomes. ``hint``: keys a searcher computed for the genomes it asked; used when they are
        the keys of exactly these genomes (same genes, row for row), else computed afresh."""
        raw = np.ascontiguousarray(np.asarray(genomes, dtype=np.int64).reshape(len(genomes), self.space.n_genes),
                                   dtype=self._store.genomes.view.dtype)
        if isinstance(hint, Keys) and hint.raw.shape == raw.shape and hint.raw.dtype == raw.dtype and \
                np.array_equal(hint.raw, raw):
            return hint
        canon = self._store.canonical(genomes)
        return Keys(raw, canon, self._store.hash(canon))

    def _keys_of(self, genomes: np.ndarray, keys: Keys | None) -> Keys:
        if keys is None:
            return self.keys(genomes)
        if len(keys) != len(genomes):
            raise ValueError(f"keys of {len(keys)} genomes passed with {len(genomes)} genomes")
        return keys

    def vouch_new(self, keys: Keys) -> Keys:
        """Mark ``keys`` as distinct genomes none of which is archived now (as ``new_mask_of`` found them:
        the caller's word, for a batch it has just checked), so that ``lookup``, ``new_mask`` and ``add``
        of them skip the probing while the archive has gained no row."""
        keys.new_in = (self._store, len(self))
        return keys

    def _vouched(self, keys: Keys) -> bool:
        return keys.new_in is not None and keys.new_in[0] is self._store and keys.new_in[1] == len(self)

    def _find(self, keys: Keys) -> np.ndarray:
        if self._vouched(keys):
            return np.full(len(keys), -1, dtype=np.int64)
        rows = self._store.find(keys.canon, keys.h, keys.raw)
        if self._limit is not None:
            rows[rows >= len(self)] = -1
        return rows

    def lookup(self, genomes: np.ndarray, keys: Keys | None = None) -> np.ndarray:
        """Archive row of each genome, or -1 where it has not been evaluated."""
        if len(genomes) == 0:
            return np.empty(0, dtype=np.int64)
        return self._find(self._keys_of(genomes, keys))

    @staticmethod
    def first_index(keys: Keys) -> np.ndarray:
        """For each row of the batch, the index of its first occurrence in the batch (itself if it is one)."""
        h = keys.h
        n = len(h)
        if n == 0 or keys.new_in is not None:  # vouched for: distinct
            return np.arange(n, dtype=np.int64)
        order = np.argsort(h, kind="stable")
        sorted_h = h[order]
        start = np.r_[True, sorted_h[1:] != sorted_h[:-1]]
        first = np.empty(n, dtype=np.int64)
        first[order] = order[start][np.cumsum(start) - 1]  # stable: the smallest index of each hash
        repeats = np.flatnonzero(first != np.arange(n))
        canon = keys.canon
        if repeats.size and not np.array_equal(canon[first[repeats]], canon[repeats]):  # a collision in the batch
            if canon.shape[1] == 0:
                return np.zeros(n, dtype=np.int64)
            void = np.ascontiguousarray(canon).view(np.dtype((np.void, canon.itemsize * canon.shape[1]))).ravel()
            _, index, inverse = np.unique(void, return_index=True, return_inverse=True)
            first = index[inverse.reshape(-1)].astype(np.int64)
        return first

    def new_mask(self, genomes: np.ndarray, keys: Keys | None = None) -> np.ndarray:
        """True for genomes neither in the archive nor repeated earlier in this batch."""
        if len(genomes) == 0:
            return np.zeros(0, dtype=bool)
        return self.new_mask_of(self._keys_of(genomes, keys))

    def new_mask_of(self, keys: Keys) -> np.ndarray:
        """``new_mask`` of the genomes behind ``keys``."""
        if self._vouched(keys):
            return np.ones(len(keys), dtype=bool)
        mask = np.zeros(len(keys), dtype=bool)
        first = np.flatnonzero(self.first_index(keys) == np.arange(len(keys)))
        mask[first[self._find(keys.take(first)) < 0]] = True
        return mask

    # ------------------------------------------------------------- appending
    def add(self, genomes: np.ndarray, values: dict[str, np.ndarray], generation: int,
            F: np.ndarray | None = None, G: np.ndarray | None = None, keys: Keys | None = None) -> None:
        """Append newly evaluated subnets (never already archived) with what searchers were told
        (``keys``: ``self.keys(genomes)``, when the caller has them)."""
        if self._limit is not None:
            raise ValueError("a prefix of an archive is read-only")
        if len(genomes) == 0:
            return
        store = self._store
        genomes = np.asarray(genomes, dtype=np.int64).reshape(len(genomes), self.space.n_genes)
        keys = self._keys_of(genomes, keys)
        h = keys.h
        if np.any(self.first_index(keys) != np.arange(len(keys))) or np.any(self._find(keys) >= 0):
            raise ValueError("archive.add got a genome that is already archived")
        start = len(self)
        if F is not None:
            F = np.asarray(F, dtype=np.float64).reshape(len(genomes), -1)
            G = np.zeros((len(genomes), 0)) if G is None else np.asarray(G, dtype=np.float64).reshape(len(genomes), -1)
            if store.F is None:
                if start:
                    raise ValueError("archive rows without F/G cannot be followed by rows with them")
                store.F, store.G = _Buffer((F.shape[1],), np.float64), _Buffer((G.shape[1],), np.float64)
        elif store.F is not None:
            raise ValueError("this archive records F and G: pass them to add()")
        columns = {m: np.asarray(values[m], dtype=np.float64).reshape(-1) for m in self.metric_names}
        store.insert(h, start)
        for m in self.metric_names:
            store.values[m].extend(columns[m])
        if F is not None:
            store.F.extend(F)
            store.G.extend(G)
        store.add_generation(int(generation), len(genomes))
        store.hashes.extend(h)
        store.genomes.extend(keys.raw)  # last: len(self) counts rows only once everything is stored

    # ------------------------------------------------------------- columns
    @property
    def genomes(self) -> np.ndarray:
        """Every genome as int64 ``[n, n_genes]`` (a copy of the compact storage, cached until the next add)."""
        return self._store.genomes64()[: len(self)]

    def genomes_at(self, rows) -> np.ndarray:
        """Genomes of some rows (an index array or a slice) as int64, without converting the rest."""
        return self._store.genomes.view[: len(self)][rows].astype(np.int64)

    @property
    def values(self) -> dict[str, np.ndarray]:
        n = len(self)
        return {m: b.view[:n] for m, b in self._store.values.items()}

    @property
    def generations(self) -> np.ndarray:
        return self._store.generations(len(self))

    @property
    def F(self) -> np.ndarray:
        """Minimized objectives of every row (``[n, n_objectives]``), as searchers were told them."""
        if self._store.F is None:
            raise ValueError("this archive does not record F")
        return self._store.F.view[: len(self)]

    @property
    def G(self) -> np.ndarray:
        if self._store.G is None:
            raise ValueError("this archive does not record G")
        return self._store.G.view[: len(self)]

    @property
    def has_scores(self) -> bool:
        return self._store.F is not None

    def values_for(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {m: v[rows] for m, v in self.values.items()}

    def generation_bounds(self, n_generations: int) -> np.ndarray:
        """Row offsets where each generation 0..n starts (rows are stored in generation order)."""
        return np.searchsorted(self.generations, np.arange(n_generations + 1), side="left")

    @property
    def nbytes(self) -> int:
        """Bytes the archive holds (rows and hash table), for memory accounting."""
        s = self._store
        buffers = [s.genomes, s.hashes, *s.values.values(), *(b for b in (s.F, s.G) if b is not None)]
        return sum(b.nbytes for b in buffers) + s.table.nbytes

    # ------------------------------------------------------------- summaries
    def feasible(self, rows=slice(None)) -> np.ndarray:
        """Whether each row satisfies every constraint (``G <= 0``); all rows when there is no G."""
        if self._store.G is None:
            return np.ones(len(np.arange(len(self))[rows]), dtype=bool)
        G = self.G[rows]
        return np.all(G <= 0, axis=1) if G.shape[1] else np.ones(len(G), dtype=bool)

    def front_rows(self, chunk: int = 1 << 16) -> np.ndarray:
        """Rows on the first non-dominated front of ``F`` among feasible rows, in row order.

        Kept incrementally: the front so far is merged with the feasible rows added since the last
        call (a point dominated by any row is dominated by a front row), ``chunk`` rows at a time."""
        from .pareto import pareto_mask

        n = len(self)
        while self._front_upto < n:
            hi = min(n, self._front_upto + chunk)
            new = np.arange(self._front_upto, hi)
            cand = np.concatenate([self._front, new[self.feasible(slice(self._front_upto, hi))]])
            if len(cand):
                self._front = cand[pareto_mask(self.F[cand])]
            self._front_upto = hi
        return self._front.copy()

    def best_row(self) -> int:
        """The feasible row with the least ``F[:, 0]`` (the first such row), or -1 when none is feasible."""
        n = len(self)
        if self._best_upto < n:
            lo = self._best_upto
            feasible = np.flatnonzero(self.feasible(slice(lo, n))) + lo
            if feasible.size:
                f = self.F[feasible, 0]
                i = int(feasible[np.argmin(f)])
                if self._best < 0 or self.F[i, 0] < self.F[self._best, 0]:
                    self._best = i
            self._best_upto = n
        return self._best

    # ------------------------------------------------------------- views
    def prefix(self, n: int) -> "Archive":
        """A read-only view of the first ``n`` rows, sharing this archive's storage; ``set_prefix``
        moves its end. Valid while this archive gains no rows."""
        view = Archive.__new__(Archive)
        view.space, view.metric_names, view._store = self.space, self.metric_names, self._store
        view._front, view._front_upto, view._best, view._best_upto = np.empty(0, dtype=np.int64), 0, -1, 0
        view._limit = 0
        view.set_prefix(n)
        return view

    def set_prefix(self, n: int) -> None:
        if self._limit is None:
            raise ValueError("only a prefix view of an archive can be moved")
        if not 0 <= n <= self._store.n:
            raise ValueError(f"a prefix of {n} rows does not fit an archive of {self._store.n}")
        if n < self._limit:  # the incremental summaries only move forward
            self._front, self._front_upto, self._best, self._best_upto = np.empty(0, dtype=np.int64), 0, -1, 0
        self._limit = n

    def empty_like(self) -> "Archive":
        return Archive(self.space, self.metric_names)
