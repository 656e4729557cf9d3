"""OFA-MobileNetV3 supernet specifics: elastic kernel, channel sorting, counting, once-for-all equality."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from search_spaces import get_space
from search_spaces.errors import CheckpointError
from supernets import create_supernet
from supernets.compat.ofa_mbv3 import load_ofa_state_dict, ofa_to_ours, to_ofa_state_dict
from supernets.ops import ElasticDepthwiseConv
from tests.supernets.ofa_reference import import_reference, seeded_ofa_state_dict
from tests.supernets.test_supernet_contract import randomize_bn

FIXTURE = Path(__file__).with_name("fixtures") / "ofa_reference.npz"


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    n = create_supernet("ofa-mbv3").eval()
    randomize_bn(n)
    return n


def test_kernel_transform_starts_as_centre_crop():
    conv = ElasticDepthwiseConv(8, (3, 5, 7))
    w = conv.weight
    assert torch.equal(conv.active_weight(8, 5), w[:, :, 1:6, 1:6])
    assert torch.equal(conv.active_weight(8, 3), w[:, :, 2:5, 2:5])
    with torch.no_grad():
        conv.kernel_transforms["7to5"].mul_(2.0)
    assert torch.allclose(conv.active_weight(8, 3), 2 * w[:, :, 2:5, 2:5])  # 3x3 goes through 7->5 first


def test_channel_sorting_preserves_the_largest_net_and_ranks_channels(net):
    arch = net.set_max()
    arch = {**arch, "r": 128}
    net.set_active(arch)
    x = net.dummy_input(2)
    with torch.no_grad():
        before = net(x)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    try:
        net.sort_channels("e")
        with torch.no_grad():
            after = net(x)
        np.testing.assert_allclose(after.numpy(), before.numpy(), atol=1e-5)
        block = net.blocks[0]
        importance = block.project.weight.abs().sum(dim=(0, 2, 3))
        assert torch.all(importance[:-1] >= importance[1:])
    finally:
        net.load_state_dict(state)


def test_ofa_keys_roundtrip(net):
    ofa = to_ofa_state_dict(net)
    assert "blocks.1.conv.depth_conv.conv.7to5_matrix" in ofa
    assert "blocks.1.conv.inverted_bottleneck.bn.bn.running_var" in ofa
    assert "first_conv.conv.weight" in ofa and "classifier.linear.bias" in ofa
    # the older key style of released checkpoints maps to the same tensors
    assert ofa_to_ours("blocks.3.mobile_inverted_conv.depth_conv.bn.weight") == "blocks.2.depthwise_bn.weight"
    assert ofa_to_ours("blocks.3.mobile_inverted_conv.point_linear.conv.weight") == "blocks.2.project.weight"
    other = create_supernet("ofa-mbv3")
    load_ofa_state_dict(other, ofa)
    for key, value in net.state_dict().items():
        assert torch.equal(other.state_dict()[key], value), key


def test_wrong_space_ofa_checkpoint_is_refused():
    w12 = to_ofa_state_dict(create_supernet("ofa-mbv3-w1.2"))
    with pytest.raises(CheckpointError, match="first_conv.conv.weight has shape .* another space"):
        load_ofa_state_dict(create_supernet("ofa-mbv3"), w12)
    with pytest.raises(CheckpointError, match="no place"):
        load_ofa_state_dict(create_supernet("ofa-mbv3"), {"bogus.weight": torch.zeros(1)})
    partial = dict(list(to_ofa_state_dict(create_supernet("ofa-mbv3")).items())[:10])
    with pytest.raises(CheckpointError, match="lacks"):
        load_ofa_state_dict(create_supernet("ofa-mbv3"), partial)


def test_matches_once_for_all_reference_outputs():
    """Outputs recorded from once-for-all's own OFAMobileNetV3 (fixtures/make_ofa_reference.py)."""
    data = np.load(FIXTURE)
    ours = create_supernet("ofa-mbv3").eval()
    load_ofa_state_dict(ours, seeded_ofa_state_dict("ofa-mbv3", seed=0))
    for i, arch in enumerate(json.loads(str(data["archs"]))):
        ours.set_active(arch)
        x = torch.randn(2, 3, arch["r"], arch["r"], generator=torch.Generator().manual_seed(i))
        with torch.no_grad():
            np.testing.assert_allclose(ours(x).numpy(), data[f"logits_{i}"], atol=2e-5)
            np.testing.assert_allclose(ours.extract(arch).eval()(x).numpy(), data[f"logits_{i}"], atol=2e-5)


@pytest.mark.parametrize("space_name,width", [("ofa-mbv3", 1.0), ("ofa-mbv3-w1.2", 1.2)])
def test_matches_live_once_for_all_package(space_name, width, rng):
    OFAMobileNetV3 = import_reference()
    if OFAMobileNetV3 is None:
        pytest.skip("once-for-all reference package not installed")
    ref = OFAMobileNetV3(n_classes=1000, dropout_rate=0, width_mult=width, ks_list=[3, 5, 7],
                         expand_ratio_list=[3, 4, 6], depth_list=[2, 3, 4]).eval()
    state = seeded_ofa_state_dict(space_name, seed=1)
    ref.load_state_dict(state)  # same key set as ours: proves the key mapping is complete
    ours = create_supernet(space_name).eval()
    load_ofa_state_dict(ours, state)
    space = get_space(space_name)
    for arch in space.decode_many(space.sample(3, rng)):
        ours.set_active(arch)
        ref.set_active_subnet(ks=arch["ks"], e=arch["e"], d=arch["d"])
        x = torch.randn(1, 3, 128, 128)
        with torch.no_grad():
            np.testing.assert_allclose(ours(x).numpy(), ref(x).numpy(), atol=2e-5)
            reference_subnet = ref.get_active_subnet().eval()
            np.testing.assert_allclose(ours.extract(arch).eval()(x).numpy(), reference_subnet(x).numpy(), atol=2e-5)
