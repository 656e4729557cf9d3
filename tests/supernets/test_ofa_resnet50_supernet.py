"""OFA-ResNet50 supernet specifics: once-for-all equality, its checkpoint keys, channel sorting, wrong files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from search_spaces import get_space
from search_spaces.errors import CheckpointError
from supernets import create_supernet
from supernets.checkpoint import load_weights, save_checkpoint
from supernets.compat.ofa_mbv3 import to_ofa_state_dict
from supernets.compat.ofa_resnet50 import load_ofa_resnet_state_dict, ofa_to_ours, to_ofa_resnet_state_dict
from tests.supernets.ofa_reference import import_reference, seeded_ofa_state_dict


@pytest.fixture(scope="module")
def state():
    return seeded_ofa_state_dict("ofa-resnet50", seed=3)


def test_matches_live_once_for_all_package(state, rng):
    OFAResNets = import_reference("OFAResNets")
    if OFAResNets is None:
        pytest.skip("once-for-all reference package not installed")
    ref = OFAResNets(n_classes=1000, dropout_rate=0, depth_list=[0, 1, 2], expand_ratio_list=[0.2, 0.25, 0.35],
                     width_mult_list=[0.65, 0.8, 1.0]).eval()
    ref.load_state_dict(state)  # the same key set as ours: the mapping is complete
    ours = create_supernet("ofa-resnet50").eval()
    load_ofa_resnet_state_dict(ours, state)
    space = get_space("ofa-resnet50[r=128/160]")
    archs = space.decode_many(space.sample(3, rng)) + [space.extremes()[1]]
    for arch in archs:
        arch = space.canonical_arch(arch)  # d[0] = 1 is d[0] = 0 here; once-for-all never samples it
        ours.set_active(arch)
        ref.set_active_subnet(d=arch["d"], e=arch["e"], w=arch["w"])
        x = torch.randn(1, 3, arch["r"], arch["r"], generator=torch.Generator().manual_seed(arch["r"]))
        with torch.no_grad():
            expected = ref(x).numpy()
            np.testing.assert_allclose(ours(x).numpy(), expected, atol=1e-4)
            np.testing.assert_allclose(ours.extract(arch).eval()(x).numpy(), expected, atol=1e-4)
            np.testing.assert_allclose(ref.get_active_subnet().eval()(x).numpy(), expected, atol=1e-4)


def test_released_key_style_loads(state):
    """Released files drop the doubled inner names (``conv.weight``, ``bn.weight``, ``linear.weight``)."""
    assert ofa_to_ours("input_stem.1.conv.conv.weight") == "stem_block.conv.weight"
    assert ofa_to_ours("blocks.3.conv2.bn.running_var") == "blocks.3.conv2.bn.running_var"
    assert ofa_to_ours("classifier.linear.weight") == "classifier.linear.weight"
    released = {k.replace("conv.conv.", "conv.").replace("bn.bn.", "bn.").replace("linear.linear.", "linear."): v
                for k, v in state.items()}
    a, b = create_supernet("ofa-resnet50"), create_supernet("ofa-resnet50")
    load_weights(a, {"state_dict": state})
    load_weights(b, released)
    for key, value in a.state_dict().items():
        assert torch.equal(b.state_dict()[key], value), key
    assert to_ofa_resnet_state_dict(a).keys() == state.keys()


def test_channel_sorting_keeps_the_largest_net(state):
    net = create_supernet("ofa-resnet50").eval()
    load_weights(net, {"state_dict": state})
    arch = {**net.space.extremes()[0], "r": 128}
    net.set_active(arch)
    x = net.dummy_input(1)
    with torch.no_grad():
        before = net(x)
        net.sort_channels("e", 0)
        np.testing.assert_allclose(net(x).numpy(), before.numpy(), atol=1e-4)
    importance = net.blocks[0].conv3.conv.weight.abs().sum(dim=(0, 2, 3))
    assert torch.all(importance[:-1] >= importance[1:])
    with pytest.raises(ValueError, match="not 'w'"):
        net.sort_channels("w")


def test_checkpoints_of_the_other_family_are_refused(tmp_path):
    resnet, mbv3 = create_supernet("ofa-resnet50"), create_supernet("ofa-mbv3")
    with pytest.raises(CheckpointError, match="is a once-for-all OFAMobileNetV3 state dict; supernet ofa-resnet50 "
                                              "loads .* once-for-all OFAResNets state dicts"):
        load_weights(resnet, {"state_dict": to_ofa_state_dict(mbv3)})
    with pytest.raises(CheckpointError, match="is a once-for-all OFAResNets state dict; supernet ofa-mbv3"):
        load_weights(mbv3, to_ofa_resnet_state_dict(resnet))
    save_checkpoint(mbv3, tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="made for space ofa-mbv3, not ofa-resnet50"):
        load_weights(resnet, tmp_path / "m.pt")


def test_space_equivalences_and_size():
    space = get_space("ofa-resnet50")
    arch = space.extremes()[1]
    same = {**arch, "d": [1, *arch["d"][1:]], "w": [1, *arch["w"][1:]]}  # stem kept only at d[0]=2; w[0] 0/1: 24 ch
    assert space.arch_id(same) == space.arch_id(arch)
    assert space.count(space.encode_many([arch, same]))["macs"].tolist()[0] == \
        space.count(space.encode_many([same]))["macs"][0]
    assert space.size == 2 * 2 * 3**5 * (3**2 + 3**3 + 3**4) ** 3 * (3**4 + 3**5 + 3**6) * 7
