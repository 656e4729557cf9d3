"""OFA-MobileNetV3 spaces: DyNAS-T-compatible genome, once-for-all predictor features, exact counting."""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd
import pytest

from search_spaces import InvalidArchitecture, get_space
from search_spaces.mobilenet_v3_layout import make_divisible
from tests.conftest import shared_path

# A DyNAS-T row (mbnv3w10_evoga_acc.csv, line 2) and what DyNAS-T measured for it.
DYNAST_ARCH = {"ks": [5, 7, 5, 5, 3, 3, 3, 7, 5, 5, 3, 7, 7, 3, 3, 3, 5, 5, 5, 5],
               "e": [4, 3, 4, 4, 4, 6, 3, 4, 4, 3, 4, 3, 3, 6, 6, 6, 4, 3, 4, 4],
               "d": [2, 3, 2, 4, 3], "r": 224}
DYNAST_MACS, DYNAST_PARAMS = 255502624, 5029656


def test_genome_is_dynast_encoding_plus_resolution():
    space = get_space("ofa-mbv3")
    genome = space.encode(DYNAST_ARCH)
    # DyNAS-T: option index into [3,5,7] per ks, [3,4,6] per e, [2,3,4] per d, in that order
    expected = ([[3, 5, 7].index(k) for k in DYNAST_ARCH["ks"]] + [[3, 4, 6].index(e) for e in DYNAST_ARCH["e"]]
                + [[2, 3, 4].index(d) for d in DYNAST_ARCH["d"]])
    assert genome[:45].tolist() == expected
    assert genome[45] == space.choice("r").options.index(224)
    fixed = get_space("ofa-mbv3[r=224]")
    assert fixed.n_genes == 45 and fixed.encode(DYNAST_ARCH).tolist() == expected


def test_dynast_list_resolution_is_accepted():
    space = get_space("ofa-mbv3")
    assert space.validate({**DYNAST_ARCH, "r": [224]})["r"] == 224


def test_counts_equal_dynast_measurement():
    space = get_space("ofa-mbv3")
    counts = space.count(space.encode(DYNAST_ARCH)[None])
    assert counts["macs"][0] == DYNAST_MACS and counts["params"][0] == DYNAST_PARAMS
    assert space.layout(DYNAST_ARCH).macs == DYNAST_MACS


@pytest.mark.realdata
def test_counts_equal_dynast_on_all_measured_subnets():
    folder = shared_path("accuracy", "ofa-mbv3-w1.0-imagenet")
    df = pd.concat([pd.read_csv(f) for f in sorted(folder.glob("*.csv"))])
    archs = []
    for text in df["Sub-network"]:
        arch = ast.literal_eval(text)
        arch.pop("wid", None)
        archs.append(arch)
    space = get_space("ofa-mbv3[r=224]")
    counts = space.count(space.encode_many(archs))
    assert len(df) > 1500
    np.testing.assert_array_equal(counts["macs"], df["MACs"].to_numpy())
    np.testing.assert_array_equal(counts["params"], df["Model Parameters"].to_numpy())


def test_ofa_features_layout():
    space = get_space("ofa-mbv3")
    X = space.features(space.encode(DYNAST_ARCH)[None], "ofa")[0]
    assert X.shape == (128,)
    n_active = sum(DYNAST_ARCH["d"])
    assert X[:60].sum() == n_active and X[60:120].sum() == n_active and X[120:].sum() == 1
    assert X[120 + (224 - 112) // 16] == 1
    # first block, ks=5 -> index 1 of (3,5,7); block 2 of stage 1 is past depth 2 -> all zero
    assert X[0:3].tolist() == [0, 1, 0] and X[6:12].sum() == 0
    assert X[60:63].tolist() == [0, 1, 0]  # e=4


def test_size_counts_distinct_networks():
    space = get_space("ofa-mbv3[r=224]")
    assert space.size == (9**2 + 9**3 + 9**4) ** 5
    assert get_space("ofa-mbv3").size == space.size * 25


def test_inactive_blocks_do_not_change_identity():
    space = get_space("ofa-mbv3")
    other = {**DYNAST_ARCH, "ks": list(DYNAST_ARCH["ks"])}
    other["ks"][2] = 7  # stage 1 has depth 2: block 2 is inactive
    assert space.arch_id(other) == space.arch_id(DYNAST_ARCH)
    assert space.canonical_arch(other) == space.canonical_arch(DYNAST_ARCH)


def test_w12_widths_follow_make_divisible():
    macro = get_space("ofa-mbv3-w1.2").macro
    assert macro.widths == (24, 24, 32, 48, 96, 136, 192, 1152, 1536)
    assert make_divisible(16 * 1.2, 8) == 24


@pytest.mark.parametrize("arch,match", [
    ({**DYNAST_ARCH, "ks": DYNAST_ARCH["ks"][:19]}, "ks has 19 values; space ofa-mbv3 expects 20"),
    ({**DYNAST_ARCH, "e": [5] * 20}, r"e\[0\]=5 is not allowed .* allowed values: 3, 4, 6"),
    ({**DYNAST_ARCH, "d": [1, 2, 3, 4, 2]}, r"d\[0\]=1 is not allowed"),
    ({**DYNAST_ARCH, "r": 225}, "r=225 is not allowed"),
    ({**DYNAST_ARCH, "r": [224, 224]}, "r has 2 values"),
    ({**DYNAST_ARCH, "ks": 3}, "ks must be a list of 20 values"),
    ({**DYNAST_ARCH, "e": [True] * 20}, r"e\[0\]=True is not allowed"),
])
def test_bad_arch_messages(arch, match):
    with pytest.raises(InvalidArchitecture, match=match):
        get_space("ofa-mbv3").validate(arch)


def test_restriction_errors():
    with pytest.raises(InvalidArchitecture, match="r=225"):
        get_space("ofa-mbv3[r=225]")
    with pytest.raises(InvalidArchitecture, match="unknown key 'x'"):
        get_space("ofa-mbv3[x=1]")
    with pytest.raises(InvalidArchitecture):
        get_space("ofa-mbv3").restrict(r=[999])
