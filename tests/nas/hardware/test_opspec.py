"""Op specs: canonical keys and how each fusion mode splits a subnet into the kernels it runs."""

from __future__ import annotations

import numpy as np
import pytest

from nas.hardware.model import space_ops
from nas.hardware.opspec import FUSIONS, OpSpec, block_ops, check_fusion, layout_ops
from search_spaces import get_space
from search_spaces.errors import InvalidInput, NotSupported


def test_key_names_every_field():
    op = OpSpec("mbconv", (56, 56, 24), (28, 28, 40), 5, 2, 96, 24, "relu", True, False, "block")
    assert op.key == "mbconv-in:56x56x24-out:28x28x40-k:5-s:2-mid:96-se:24-act:relu-bn:1-res:0-fused:block"
    row = op.as_row()
    assert row["key"] == op.key and (row["in_c"], row["out_h"], row["se"]) == (24, 28, 24)


def test_block_fusion_is_one_kernel_per_block_and_layer_fusion_splits_it():
    space = get_space("ofa-mbv3")
    spec = space.macro.block_spec(13, 5, 6, 224)  # 4th elastic stage (h-swish, SE), a residual block
    (block,) = block_ops(spec, "block")
    assert block.kind == "mbconv" and block.residual and block.se == spec.se_channels
    layer = block_ops(spec, "layer")
    assert [op.kind for op in layer] == ["conv", "dwconv", "se", "conv"]
    assert layer[-1].fused == "conv+bn+add" and layer[-1].residual  # TensorRT fuses the add into the conv
    assert layer[1].kernel == 5 and layer[1].act == "h_swish" and layer[0].fused == "conv+bn+act"
    first = space.macro.fixed_specs(224)[1]  # expand ratio 1: no expand conv
    assert [op.kind for op in block_ops(first, "layer")] == ["dwconv", "conv"]


@pytest.mark.parametrize("fusion", FUSIONS)
def test_every_subnet_op_is_among_the_space_ops(fusion, rng):
    space = get_space("ofa-mbv3")
    keys = set(space_ops(space, fusion).unique())
    for arch in space.decode_many(space.sample(20, rng)):
        assert {op.key for op in layout_ops(space.layout(arch), fusion)} <= keys


def test_ofa_space_op_counts():
    # distinct ops: stage-first and stage-other blocks x 9 (ks, e) x resolutions, minus the sizes shared
    assert len(space_ops(get_space("ofa-mbv3"), "block").unique()) == 1257
    assert len(space_ops(get_space("ofa-mbv3-w1.2"), "block").unique()) == 870


def test_bad_fusion_and_space_without_layout():
    with pytest.raises(InvalidInput, match="unknown fusion mode 'fused'; known: block, layer"):
        check_fusion("fused")

    class NoLayout:
        name = "plain"

    from nas.hardware.opspec import macro_of

    with pytest.raises(NotSupported, match="plain has none"):
        macro_of(NoLayout())


def test_flops_match_space_macs():
    space = get_space("ofa-mbv3")
    g = space.sample(5, np.random.default_rng(1))
    for arch, macs in zip(space.decode_many(g), space.count(g)["macs"]):
        ops = layout_ops(space.layout(arch), "layer")
        convs = sum(op.flops for op in ops if op.kind in ("conv", "dwconv", "linear"))
        se = sum(2 * op.in_shape[2] * op.mid for op in ops if op.kind == "se")
        assert convs + se == macs
