"""MACs, bytes and roofline-ideal times checked by hand; fused bytes below per-layer bytes for blocks."""

from __future__ import annotations

import pytest

from nas.hardware.efficiency.traffic import fused_bytes, layer_bytes, op_traffic, roofline_ms, weight_elements
from search_spaces import get_space
from search_spaces.errors import InvalidInput
from search_spaces.ops import Op

P, BW = 1e9, 1e8  # 1 GFLOP/s, 100 MB/s: round numbers to check by hand


def conv1x1(cin=16, cout=32, hw=8, residual=False):
    return Op("conv", (hw, hw, cin), (hw, hw, cout), kernel=1, act="relu", bn=True, residual=residual,
              fused="conv+bn+act")


def dwconv3x3(c=32, hw=8, stride=1):
    return Op("dwconv", (hw, hw, c), (hw // stride, hw // stride, c), kernel=3, stride=stride, act="relu", bn=True,
              fused="conv+bn+act")


def inverted_residual(c=16, e=6, hw=8):
    mid = c * e
    parts = (Op("conv", (hw, hw, c), (hw, hw, mid), 1, act="relu", bn=True, fused="conv+bn+act", name="expand"),
             Op("dwconv", (hw, hw, mid), (hw, hw, mid), 3, act="relu", bn=True, fused="conv+bn+act", name="depthwise"),
             Op("conv", (hw, hw, mid), (hw, hw, c), 1, bn=True, fused="conv+bn", name="project"))
    return Op("mbconv", (hw, hw, c), (hw, hw, c), 3, 1, mid=mid, residual=True, fused="block", parts=parts)


def test_1x1_conv_by_hand():
    op = conv1x1()
    t = op_traffic(op, 2, P, BW)
    assert t.macs == 2 * 16 * 32 * 8 * 8 == 65536  # batch 2
    assert weight_elements(op) == 16 * 32 + 32  # BN folded: weights + one bias per output channel
    activations = 2 * (8 * 8 * 16 + 8 * 8 * 32)
    assert t.bytes_layer == t.bytes_fused == 4 * (activations + 544) == 26752
    # compute 2 FLOPs x 65536 / 1e9 = 0.131 ms < memory 26752 / 1e8 = 0.268 ms: memory-bound
    assert t.ideal_layer_ms == t.ideal_fused_ms == pytest.approx(0.26752)
    assert t.bound == "memory" and t.kernels == 1


def test_depthwise_conv_by_hand():
    op = dwconv3x3()
    t = op_traffic(op, 1, P, BW)
    assert t.macs == 32 * 9 * 8 * 8 == 18432
    assert t.bytes_layer == 4 * (2048 + 2048 + 32 * 9 + 32) == 17664
    assert t.ideal_layer_ms == pytest.approx(max(2 * 18432 / P, 17664 / BW) * 1e3)
    strided = op_traffic(dwconv3x3(stride=2), 1, P, BW)
    assert strided.macs == 32 * 9 * 4 * 4 and strided.bytes_layer == 4 * (2048 + 512 + 320)


def test_compute_bound_when_the_arithmetic_dominates():
    assert roofline_ms(1e6, 1.0, P, BW) == pytest.approx(2.0)  # 2e6 FLOPs at 1e9 FLOP/s
    assert op_traffic(conv1x1(256, 256, 14), 1, 1e9, 1e12).bound == "compute"


def test_a_residual_add_reads_the_added_tensor():
    assert layer_bytes(conv1x1(32, 32, residual=True)) - layer_bytes(conv1x1(32, 32)) == 4 * 8 * 8 * 32


def test_fused_bytes_of_an_inverted_residual_by_hand():
    block = inverted_residual()
    weights = (16 * 96 + 96) + (96 * 9 + 96) + (96 * 16 + 16)
    assert weight_elements(block) == weights
    assert fused_bytes(block) == 4 * (8 * 8 * 16 * 2 + weights)
    # layer by layer: the 96-channel tensors are written and read back twice, the residual is read again
    expand = 8 * 8 * 16 + 8 * 8 * 96
    depthwise = 2 * 8 * 8 * 96
    project = 8 * 8 * 96 + 2 * 8 * 8 * 16
    t = op_traffic(block, 1, P, BW)
    assert t.bytes_layer == 4 * (expand + depthwise + project + weights)
    assert t.bytes_fused < t.bytes_layer and t.kernels == 3
    assert t.ideal_fused_ms < t.ideal_layer_ms
    assert t.macs == 8 * 8 * (16 * 96 + 96 * 9 + 96 * 16)


def test_fused_equals_per_layer_for_a_single_conv():
    for op in (conv1x1(), dwconv3x3()):
        assert fused_bytes(op, 3) == layer_bytes(op, 3)
        t = op_traffic(op, 3, P, BW)
        assert t.ideal_fused_ms == t.ideal_layer_ms


def test_every_block_of_a_real_subnet_moves_fewer_bytes_fused(rng):
    space = get_space("ofa-mbv3")
    arch = space.decode(space.sample(1, rng)[0])
    for op in space.layers(arch):
        t = op_traffic(op, 1, P, BW)
        assert (t.bytes_fused < t.bytes_layer) if op.is_composite else (t.bytes_fused == t.bytes_layer)
        assert t.macs == op.macs


def test_weights_are_read_once_per_batch():
    op = conv1x1()
    assert layer_bytes(op, 4) - layer_bytes(op, 2) == 2 * 4 * (8 * 8 * 16 + 8 * 8 * 32)


@pytest.mark.parametrize("batch", [0, -1, 1.5, True])
def test_bad_batch_is_refused(batch):
    with pytest.raises(InvalidInput, match="--batch"):
        op_traffic(conv1x1(), batch, P, BW)


def test_non_positive_peaks_are_refused():
    with pytest.raises(InvalidInput, match="positive"):
        roofline_ms(1, 1, 0.0, BW)
