"""once-for-all net.config files: written in the published layout, read back (ours and published)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from search_spaces import get_space
from search_spaces.errors import InvalidInput
from search_spaces.ofa_mbv3_net_config import arch_to_net_config, net_config_to_arch, read_net_config
from tests.conftest import shared_path


@pytest.mark.parametrize("space_name", ["ofa-mbv3", "ofa-mbv3-w1.2"])
def test_roundtrip(space_name, rng):
    space = get_space(space_name)
    for arch in space.decode_many(space.sample(20, rng)):
        config = arch_to_net_config(space, arch)
        assert config["blocks"][0]["mobile_inverted_conv"]["expand_ratio"] == 1
        assert len(config["blocks"]) == sum(arch["d"]) + 1
        assert net_config_to_arch(space, json.loads(json.dumps(config)), arch["r"]) == space.canonical_arch(arch)


def test_layout_matches_published_config():
    path = shared_path("accuracy", "ofa-specialized", "note10_lat-8ms_top1-71.4_finetune-25", "net.config")
    published, image_size = read_net_config(path)
    space = get_space("ofa-mbv3")
    arch = net_config_to_arch(space, published, image_size)
    assert arch["d"] == [2, 2, 3, 2, 2] and arch["r"] == 160
    assert arch_to_net_config(space, arch) == published  # byte-for-byte the same structure


def test_mismatches_are_named():
    space = get_space("ofa-mbv3")
    arch = space.decode(np.zeros(space.n_genes, dtype=np.int64))
    config = arch_to_net_config(space, arch)
    config["blocks"][3]["mobile_inverted_conv"]["mid_channels"] += 8
    with pytest.raises(InvalidInput, match=r"blocks\[3\]\.mid_channels"):
        net_config_to_arch(space, config, arch["r"])
    w12 = arch_to_net_config(get_space("ofa-mbv3-w1.2"), get_space("ofa-mbv3-w1.2").decode(np.zeros(46, int)))
    with pytest.raises(InvalidInput, match="another width multiplier"):
        net_config_to_arch(space, w12, 224)
    with pytest.raises(InvalidInput, match="ProxylessNASNets"):
        net_config_to_arch(space, {"name": "ProxylessNASNets", "blocks": []}, 224)


@pytest.mark.parametrize("width", [[24], {"a": 1}, "24", True])
def test_a_block_width_that_is_not_a_number_is_named(width):
    space = get_space("ofa-mbv3")
    config = arch_to_net_config(space, space.decode(np.zeros(space.n_genes, dtype=np.int64)))
    config["blocks"][1]["mobile_inverted_conv"]["out_channels"] = width  # a list was a TypeError (unhashable)
    with pytest.raises(InvalidInput, match="net.config block 1 has .* output channels"):
        net_config_to_arch(space, config, 224)
