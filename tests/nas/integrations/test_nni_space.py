"""NNI search spaces round-trip every registered space; bad samples give clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from nas.integrations.nni_space import arch_from_nni, genomes_from_nni, nni_search_space
from search_spaces import get_space, list_spaces
from search_spaces.errors import InvalidInput


def _samples(space, genomes):
    names = space.gene_names
    doc = nni_search_space(space)
    return [{n: doc[n]["_value"][i] for n, i in zip(names, g)} for g in genomes]


@pytest.mark.parametrize("name", list_spaces())
def test_search_space_json_round_trips_genomes(name):
    space = get_space(name)
    doc = nni_search_space(space)
    assert list(doc) == list(space.gene_names)
    assert [len(d["_value"]) for d in doc.values()] == space.n_options.tolist()
    assert all(d["_type"] == "choice" for d in doc.values())
    genomes = space.sample(20, np.random.default_rng(0))
    np.testing.assert_array_equal(genomes_from_nni(space, _samples(space, genomes)), genomes)
    assert arch_from_nni(space, _samples(space, genomes[:1])[0]) == space.decode(genomes[0])


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("ks[0]"), "lacks gene 'ks\\[0\\]'"),
    (lambda s: s.update({"depth": 3}), "unknown in space"),
    (lambda s: s.update({"ks[0]": 4}), "allowed: 3, 5, 7"),
])
def test_bad_samples_are_named(change, message):
    space = get_space("ofa-mbv3")
    sample = _samples(space, space.sample(1, np.random.default_rng(1)))[0]
    change(sample)
    with pytest.raises(InvalidInput, match=message):
        genomes_from_nni(space, [sample])


def test_mutable_space_samples_are_subnets():
    pytest.importorskip("nni")
    from nas.integrations.nni_space import nni_mutable

    space = get_space("ofa-mbv3")
    mutable = nni_mutable(space)
    samples = [mutable.random(random_state=np.random.RandomState(seed)) for seed in range(10)]
    genomes = genomes_from_nni(space, samples)
    assert len(np.unique(space.keys_of(genomes))) == 10
    assert mutable.freeze(samples[0]) == samples[0]
