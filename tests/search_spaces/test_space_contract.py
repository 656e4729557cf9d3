"""Contract every registered search space passes: encode/decode, validation, batch ops, ids, features."""

from __future__ import annotations

import json

import numpy as np
import pytest

from search_spaces import InvalidArchitecture, SearchSpace, get_space, list_spaces

SPACES = list_spaces(overlays=True)  # S+q too: overlays pass the same contract


@pytest.fixture(params=SPACES)
def space(request) -> SearchSpace:
    return get_space(request.param)


def test_registry_lists_the_builtin_spaces():
    assert {"ofa-mbv3", "ofa-mbv3-w1.2", "ofa-mbv3+q", "resnet20-pooling+q"} <= set(SPACES)


def test_sample_validate_roundtrip(space, rng):
    genomes = space.sample(64, rng)
    assert genomes.shape == (64, space.n_genes) and genomes.dtype == np.int64
    archs = space.decode_many(genomes)
    for arch, genome in zip(archs, genomes):
        assert space.validate(arch) == arch
        assert json.loads(json.dumps(arch)) == arch  # plain JSON-able values
        np.testing.assert_array_equal(space.encode(arch), genome)
        assert space.decode(space.encode(arch)) == arch
    np.testing.assert_array_equal(space.encode_many(archs), genomes)


def test_batch_operations_stay_in_the_space(space, rng):
    a, b = space.sample(200, rng), space.sample(200, rng)
    for out in (space.mutate(a, rng, 0.3), space.crossover(a, b, rng)):
        space.check_genomes(out)
    crossed = space.crossover(a, b, rng)
    assert np.all((crossed == a) | (crossed == b))
    assert np.array_equal(space.mutate(a, rng, 0.0), a)


def test_same_seed_same_samples(space):
    g1 = space.sample(10, np.random.default_rng(7))
    g2 = space.sample(10, np.random.default_rng(7))
    np.testing.assert_array_equal(g1, g2)


def test_ids_are_canonical(space, rng):
    genomes = space.sample(100, rng)
    ids = space.arch_ids(genomes)
    canon_ids = space.arch_ids(space.canonical(genomes))
    assert ids == canon_ids  # inactive genes never change the id
    keys = space.keys_of(genomes)
    assert len(set(k.tobytes() for k in keys)) == len(set(ids))
    assert space.arch_id(space.decode(genomes[0])) == ids[0]


def test_features_have_fixed_width(space, rng):
    for kind in space.feature_kinds():
        support = space.feature_support(kind)  # the part of the space an encoding is defined on
        where = space.restrict(**support) if support else space
        X = where.features(where.sample(20, rng), kind)
        assert X.shape[0] == 20 and X.ndim == 2 and np.all(np.isfinite(X))
        assert X.shape[1] == where.features(where.sample(1, rng), kind).shape[1]


@pytest.mark.parametrize("bad", [np.zeros((2, 3)), np.full((1, 1), -1), "abc"])
def test_bad_genomes_raise(space, bad):
    if isinstance(bad, np.ndarray) and bad.shape[1] == 1:
        bad = np.full((1, space.n_genes), -1)
    with pytest.raises(InvalidArchitecture):
        space.check_genomes(bad)


def test_bad_archs_name_the_field(space, rng):
    arch = space.decode(space.sample(1, rng)[0])
    with pytest.raises(InvalidArchitecture, match="unknown key 'bogus'"):
        space.validate({**arch, "bogus": 1})
    key = space.choices[0].key
    missing = {k: v for k, v in arch.items() if k != key}
    with pytest.raises(InvalidArchitecture, match=f"missing key '{key}'"):
        space.validate(missing)
    with pytest.raises(InvalidArchitecture):
        space.validate([1, 2, 3])
