"""NAS-Bench-201's cell space: arch strings, dense cell index, edge status and encodings."""

from __future__ import annotations

import numpy as np
import pytest

from search_spaces import Structured, get_space
from search_spaces.errors import InvalidArchitecture
from search_spaces.nas_bench_201 import OPS, decode_arch_str

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_registered_with_alias_and_size():
    space = get_space("nb201")
    assert space.name == "nas-bench-201" and space.size == 5**6 == len(space.all_genomes())


def test_arch_strings_round_trip():
    space = get_space("nas-bench-201")
    genomes = space.sample(50, np.random.default_rng(0))
    strings = [space.arch_str(a) for a in space.decode_many(genomes)]
    np.testing.assert_array_equal(space.genomes_from_strings(strings), genomes)
    assert decode_arch_str(BEST)["ops"] == ["nor_conv_3x3"] * 3 + ["skip_connect"] + ["nor_conv_3x3"] * 2


@pytest.mark.parametrize("text", ["", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                                  "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "|none~0|+|none~0|"])
def test_bad_arch_strings(text):
    with pytest.raises(InvalidArchitecture, match="is not a NAS-Bench-201 arch string"):
        get_space("nas-bench-201").genomes_from_strings([text])


def test_cell_index_is_dense_and_unique():
    space = get_space("nas-bench-201")
    index = space.cell_index(space.all_genomes())
    np.testing.assert_array_equal(np.sort(index), np.arange(15625))
    assert space.cell_index(np.zeros((1, 6), dtype=np.int64))[0] == 0


def test_edge_status_prunes_dead_ops():
    space = get_space("nas-bench-201")
    # only edge 3<-0 is an op: it is computed and live; an op into node 1 with nothing out of node 1 is dead
    g = space.genomes_from_strings(["|nor_conv_1x1~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"])
    computed, live = space.edge_status(g)
    np.testing.assert_array_equal(computed[0], [False, False, False, True, False, False])
    np.testing.assert_array_equal(live[0], computed[0])
    # an op out of node 2 that gets no input is computed (it reaches the output) but not live
    g = space.genomes_from_strings(["|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"])
    computed, live = space.edge_status(g)
    assert computed[0, 5] and not live[0, 5]


def test_encodings():
    space = get_space("nas-bench-201")
    genomes = space.all_genomes()[:100]
    assert space.features(genomes, "graph").shape == (100, 3 * 6 * len(OPS))
    assert space.features(genomes, "path").shape == (100, 5 + 25 + 25 + 125)
    assert space.features(np.zeros((1, 6), dtype=np.int64), "path").sum() == 0  # all-none: no path
    assert not isinstance(space, Structured)  # no structure declared: no params/MACs model
