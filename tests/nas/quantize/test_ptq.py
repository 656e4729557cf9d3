"""Fake-quant PTQ: exact at 32 bits, small error at 8-bit per-channel weights, worse at 4, bad input refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nas.quantize import policy_for, quantize_subnet, require_fp32, split_arch
from nas.quantize.ptq import quant_leaves, quantize_weight
from search_spaces.errors import InvalidInput


def _policy(space, base, wbits, abits, wmode="symmetric"):
    return policy_for(space, space.with_bits(base, wbits, abits, wmode))


def _rel(a, b):
    return float((a - b).norm() / b.norm())


def test_policy_names_and_paths(qspace, subnet):
    _, base, net = subnet
    policy = _policy(qspace, base, 8, 8)
    assert policy.names[0] == "stem" and policy.names[-1] == "classifier"
    assert set(policy.names) <= {layer.name for layer in qspace.quant_layers}
    modules = policy.check_against(net)
    assert len(modules) == len(policy.layers) == sum(1 for m in net.modules() if isinstance(m, (torch.nn.Conv2d,
                                                                                              torch.nn.Linear)))


def test_all_32_bits_equals_fp32_exactly(qspace, subnet, images):
    _, base, net = subnet
    fake = quantize_subnet(net, _policy(qspace, base, 32, 32), images[:64])
    with torch.no_grad():
        assert torch.equal(fake(images[:64]), net(images[:64]))
    assert not quant_leaves(fake)


def test_8bit_weights_per_channel_close_and_4bit_worse(qspace, subnet, images):
    _, base, net = subnet
    x = images[128:192]
    with torch.no_grad():
        ref = net(x)
        err = {}
        for wbits in (8, 4):
            for mode in ("symmetric", "asymmetric"):
                fake = quantize_subnet(net, _policy(qspace, base, wbits, 32, mode), images[:64])
                err[wbits, mode] = _rel(fake(x), ref)
    assert err[8, "symmetric"] < 0.03 and err[8, "asymmetric"] < 0.03, err
    assert err[4, "symmetric"] > 2 * err[8, "symmetric"] and err[4, "asymmetric"] > 2 * err[8, "asymmetric"], err


def test_weight_levels_within_half_a_step():
    w = torch.randn(16, 8, 3, 3)
    w[3] = w[3].abs()  # a channel without negative weights (asymmetric keeps 0 exact still)
    for bits in (4, 8):
        for mode in ("symmetric", "asymmetric"):
            q, scale, zp = quantize_weight(w, bits, mode)
            assert int(q.min()) >= -(2 ** (bits - 1)) and int(q.max()) <= 2 ** (bits - 1) - 1
            deq = (q - zp.view(-1, 1, 1, 1)).float() * scale.view(-1, 1, 1, 1)
            assert torch.all((deq - w).abs() <= scale.view(-1, 1, 1, 1) / 2 + 1e-6)
            if mode == "symmetric":
                assert torch.all(zp == 0)


@pytest.mark.parametrize("observer", ["minmax", "histogram", "percentile"])
def test_observers_calibrate_8bit_activations(qspace, subnet, images, observer):
    _, base, net = subnet
    x = images[128:192]
    fake = quantize_subnet(net, _policy(qspace, base, 8, 8), images[:64], observer)
    leaves = quant_leaves(fake)
    assert leaves and all(not leaf.calibrating and leaf.in_scale > 0 for leaf in leaves)
    with torch.no_grad():
        assert _rel(fake(x), net(x)) < 0.15


def test_mixed_policy_follows_the_arch(qspace, subnet, images):
    supernet, base, net = subnet
    rng = np.random.default_rng(5)
    n = len(qspace.quant_layers)
    arch = {**base, "wbits": rng.choice([4, 8, 32], n).tolist(), "abits": rng.choice([8, 32], n).tolist(),
            "wmode": rng.choice(["symmetric", "asymmetric"], n).tolist()}
    got_base, policy = split_arch(qspace, arch)
    assert got_base == base
    fake = quantize_subnet(net, policy, images[:64])
    by_name = {leaf.layer_name: leaf for leaf in quant_leaves(fake)}
    arch = qspace.validate(arch)
    for p, layer in enumerate(qspace.quant_layers):
        if layer.name in policy.names and (arch["wbits"][p] < 32 or arch["abits"][p] < 32):
            leaf = by_name[layer.name]
            assert (leaf.wbits, leaf.abits) == (arch["wbits"][p], arch["abits"][p])
        else:
            assert layer.name not in by_name


# ----------------------------------------------------------------------------- bad input
def _one_line(exc_info) -> str:
    text = str(exc_info.value)
    assert "\n" not in text
    return text


def test_fp32_arch_where_quantized_needed(qspace, subnet):
    _, base, _ = subnet
    with pytest.raises(InvalidInput) as e:
        policy_for(qspace, base)
    assert "fp32 architecture" in _one_line(e)


def test_quantized_arch_where_fp32_needed(qspace, subnet):
    supernet, base, _ = subnet
    qarch = qspace.with_bits(base, 8, 8)
    with pytest.raises(InvalidInput) as e:
        require_fp32(qspace.base, qarch)
    assert "quantized architecture" in _one_line(e)
    with pytest.raises(ValueError, match="wbits"):  # the supernet (the base space's) refuses the bits keys too
        supernet.extract(qarch)


def test_calibration_of_the_wrong_shape(qspace, subnet, images):
    _, base, net = subnet
    policy = _policy(qspace, base, 8, 8)
    for bad in (images[:8, :, :16, :16], images[:8, 0], (images[:8] * 255).to(torch.uint8), "images", []):
        with pytest.raises(InvalidInput) as e:
            quantize_subnet(net, policy, bad)
        _one_line(e)


def test_policy_of_another_subnet(qspace, subnet, images):
    supernet, base, net = subnet
    other = qspace.base.extremes()[1]  # the pooling layers elsewhere: the blocks' modules are numbered otherwise
    assert other != base
    policy = _policy(qspace, other, 8, 8)
    with pytest.raises(InvalidInput) as e:
        quantize_subnet(net, policy, images[:8])
    assert "made for another subnet" in _one_line(e)
    with pytest.raises(InvalidInput) as e:
        quantize_subnet(net, {"stem": 8}, images[:8])
    _one_line(e)
