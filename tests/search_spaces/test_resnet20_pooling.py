"""The ResNet20 pooling space: the paper's arch forms, BMS's numbering and codes, exact counts, bad input."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from search_spaces import InvalidArchitecture, get_space
from search_spaces.resnet20_pooling import PLACEMENTS, code_of, config_of, placement_of_code, placement_of_config
from tests.conftest import shared_path

SPACE = get_space("resnet20-pooling")


def test_36_placements_whose_layers_sum_to_ten():
    assert SPACE.size == len(PLACEMENTS) == 36 and SPACE.n_genes == 1
    assert all(sum(p) == 10 and min(p) >= 1 for p in PLACEMENTS)
    assert config_of([4, 3, 3]) == 24 and code_of([4, 3, 3]) == "0,0,0,0,1,0,0,1,0,0"


def test_numbers_and_codes_match_bms_table():
    with open(shared_path("benchmarks", "bms-resnet20", "pooling_configs.csv")) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 36
    for row in rows:
        pool = [int(row["block1"]), int(row["block2"]), int(row["block3"])]
        assert list(placement_of_code(row["code"])) == pool
        assert list(placement_of_config(int(row["number"]))) == pool
        assert code_of(pool) == row["code"].replace(" ", "") and config_of(pool) == int(row["number"])


def test_arch_forms_read_alike_and_write_the_paper_form():
    want = {"pool": [5, 3, 2]}
    for given in ({"pool": [5, 3, 2]}, {"pool": (5, 3, 2)}, {"config": 29}, {"code": "0,0,0,0,0,1,0,0,1,0"},
                  {"code": [0, 0, 0, 0, 0, 1, 0, 0, 1, 0]}):
        assert SPACE.validate(given) == want
    genome = SPACE.encode(want)
    assert SPACE.decode(genome) == want and SPACE.arch_id(want) == "pool:5-3-2"
    assert SPACE.arch_to_foreign(want) == {"format": "bms-resnet20-pooling", "number": 29,
                                           "code": "0,0,0,0,0,1,0,0,1,0", "block1": 5, "block2": 3, "block3": 2}


def test_moving_a_pool_moves_compute_but_no_weights():
    counts = SPACE.count(np.arange(36)[:, None])
    assert counts["macs"].min() == 18_596_480 and counts["macs"].max() == 149_340_800  # BMS's 18.6M..149M
    assert len(set(counts["params"].tolist())) == 1
    largest, smallest = SPACE.extremes()
    assert largest == {"pool": [8, 1, 1]} and smallest == {"pool": [1, 1, 8]}
    default = SPACE.count(SPACE.encode({"pool": [4, 3, 3]})[None])["macs"][0]
    assert 40e6 < default < 42e6  # ResNet20 (1x1 projection shortcuts): about 41M MACs


def test_layers_put_each_pool_before_its_block():
    ops = SPACE.layers({"pool": [2, 7, 1]})
    pools = [op for op in ops if op.kind == "maxpool"]
    assert [op.name for op in pools] == ["layer2", "layer9"]
    assert [op.out_shape[0] for op in pools] == [16, 8]
    assert ops[-2].in_shape == (8, 8, 64)


def test_restricted_by_name():
    space = get_space("resnet20-pooling[pool=4-3-3/5-3-2]")
    assert space.size == 2 and space.validate({"config": 24}) == {"pool": [4, 3, 3]}
    with pytest.raises(InvalidArchitecture, match="not in space"):
        space.validate({"pool": [7, 1, 2]})


@pytest.mark.parametrize("arch, message", [
    ({"pool": [4, 3, 2]}, "summing to 10"),
    ({"pool": [0, 5, 5]}, "summing to 10"),
    ({"pool": [4, 6]}, "three layer counts"),
    ({"pool": "4-3-3"}, "three layer counts"),
    ({"config": 0}, "allowed: 1..36"),
    ({"config": 37}, "allowed: 1..36"),
    ({"code": "0,1,1"}, "10 comma-separated bits"),
    ({"code": "1,0,0,0,0,0,0,0,1,0"}, "none before the stem"),
    ({"code": "0,1,1,1,0,0,0,0,0,0"}, "exactly 2 ones"),
    ({"pool": [4, 3, 3], "config": 24}, "both"),
])
def test_bad_archs_say_what_is_allowed(arch, message):
    with pytest.raises(InvalidArchitecture, match=message):
        SPACE.validate(arch)
