"""The archive's hash de-duplication, prefix views, incremental front and per-subnet memory."""

from __future__ import annotations

import numpy as np
import pytest

from nas.search.archive import Archive, _Store
from nas.search.pareto import pareto_mask
from search_spaces import get_space, list_spaces


def _fill(space, archive: Archive, rng, generations: int = 40, batch: int = 150) -> dict:
    """Random batches with repeats (earlier rows, equivalent genomes, in-batch duplicates), checked
    against a dict of the space's own keys; returns that reference."""
    ref: dict = {}
    for gen in range(generations):
        X = space.sample(batch, rng)
        if len(archive) and gen % 2:
            X[:30] = archive.genomes_at(rng.integers(0, len(archive), 30))
            X[30:40] = X[:10]
        keys = space.keys_of(X).tolist()
        seen: set = set()
        expected = []
        for k in keys:
            expected.append(k not in ref and k not in seen)
            seen.add(k)
        mask = archive.new_mask(X)
        np.testing.assert_array_equal(mask, expected)
        new = X[mask]
        F = rng.random((len(new), 2))
        G = rng.normal(size=(len(new), 1))
        archive.add(new, {"m": F[:, 0]}, gen, F, G)
        for k in space.keys_of(new).tolist():
            ref[k] = len(ref)
        np.testing.assert_array_equal(archive.lookup(X), [ref.get(k, -1) for k in keys])
    return ref


@pytest.mark.parametrize("name", list_spaces())
def test_new_mask_and_lookup_match_the_spaces_keys(name):
    space = get_space(name)
    _fill(space, Archive(space, ["m"]), np.random.default_rng(0), generations=12, batch=60)


def test_equivalent_genomes_are_one_subnet():
    space = get_space("ofa-mbv3")
    a = Archive(space, ["m"])
    g = space.sample(1, np.random.default_rng(3))
    other = g.copy()
    inactive = np.flatnonzero(~space.active_mask(g)[0])
    assert inactive.size
    other[0, inactive] = (other[0, inactive] + 1) % space.n_options[inactive]  # same network, other digits
    a.add(g, {"m": [1.0]}, 0)
    assert a.lookup(other).tolist() == [0] and not a.new_mask(other).any()
    with pytest.raises(ValueError, match="already archived"):
        a.add(other, {"m": [2.0]}, 1)


def test_hash_collisions_never_merge_different_subnets(monkeypatch):
    """With a hash of 16 values every lookup collides; comparing genomes still keeps subnets apart."""
    original = _Store.hash
    monkeypatch.setattr(_Store, "hash", lambda self, canon: original(self, canon) & np.uint64(15))
    space = get_space("ofa-mbv3")
    archive = Archive(space, ["m"])
    ref = _fill(space, archive, np.random.default_rng(1), generations=10, batch=80)
    assert len(archive) == len(ref)


def test_a_prefix_view_sees_only_its_rows():
    space = get_space("ofa-mbv3")
    archive = Archive(space, ["m"])
    _fill(space, archive, np.random.default_rng(2), generations=6)
    n = len(archive)
    view = archive.prefix(100)
    np.testing.assert_array_equal(view.lookup(archive.genomes), np.r_[np.arange(100), np.full(n - 100, -1)])
    assert len(view) == 100 and view.F.shape == (100, 2) and view.new_mask(archive.genomes[100:]).all()
    view.set_prefix(n)
    np.testing.assert_array_equal(view.lookup(archive.genomes), np.arange(n))
    with pytest.raises(ValueError, match="read-only"):
        view.add(space.sample(1, np.random.default_rng(9)), {"m": [0.0]}, 9, np.zeros((1, 2)), np.zeros((1, 1)))


def test_generations_and_bounds_round_trip():
    space = get_space("ofa-mbv3")
    archive = Archive(space, ["m"])
    rng = np.random.default_rng(4)
    sizes = [5, 0, 7, 3]
    for gen, k in enumerate(sizes):
        archive.add(space.sample(k, rng), {"m": np.zeros(k)}, gen)
    archive.add(space.sample(2, rng), {"m": np.zeros(2)}, 3)  # one generation added in two parts
    np.testing.assert_array_equal(archive.generations, np.repeat([0, 2, 3], [5, 7, 5]))
    np.testing.assert_array_equal(archive.generation_bounds(4), [0, 5, 5, 12, 17])


def test_incremental_front_and_best_match_a_full_sort():
    space = get_space("ofa-mbv3")
    archive = Archive(space, ["m"])
    rng = np.random.default_rng(5)
    for gen in range(30):
        X = space.sample(300, rng)
        X = X[archive.new_mask(X)]
        F = np.round(rng.random((len(X), 2)), 2)  # ties and duplicates of F
        archive.add(X, {"m": F[:, 0]}, gen, F, rng.normal(size=(len(X), 1)))
        if gen % 7 == 0:
            archive.front_rows()  # merged incrementally between calls
    feasible = np.flatnonzero(archive.G[:, 0] <= 0)
    np.testing.assert_array_equal(archive.front_rows(chunk=1000), feasible[pareto_mask(archive.F[feasible])])
    assert archive.best_row() == feasible[np.argmin(archive.F[feasible, 0])]


def test_memory_per_subnet_is_small():
    """Rows and hash table of ofa-mbv3 subnets: about 90 bytes each (the dict of byte keys took ~600)."""
    space = get_space("ofa-mbv3")
    archive = Archive(space, ["accuracy", "macs", "params"])
    rng = np.random.default_rng(6)
    for gen in range(20):
        X = space.sample(5000, rng)
        X = X[archive.new_mask(X)]
        values = {m: rng.random(len(X)) for m in archive.metric_names}
        archive.add(X, values, gen, rng.random((len(X), 2)), np.zeros((len(X), 0)))
    assert archive.genomes.dtype == np.int64 and archive._store.genomes.view.dtype == np.int8
    assert archive.nbytes / len(archive) < 130
