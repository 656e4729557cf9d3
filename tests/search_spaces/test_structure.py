"""The structure contract: op keys, the layer view of composite ops, slots and their vectorized gathers."""

from __future__ import annotations

import numpy as np
import pytest

from search_spaces import FUSIONS, Op, Structured, get_space
from search_spaces.errors import InvalidInput
from search_spaces.mobilenet_v3_layout import mbconv_op
from search_spaces.ops import check_fusion, op_from_row
from search_spaces.structure import covering_restriction


def test_key_names_every_field():
    op = Op("mbconv", (56, 56, 24), (28, 28, 40), 5, 2, 96, 24, "relu", True, False, "block")
    assert op.key == "mbconv-in:56x56x24-out:28x28x40-k:5-s:2-mid:96-se:24-act:relu-bn:1-res:0-fused:block"
    row = op.as_row()
    assert row["key"] == op.key and (row["in_c"], row["out_h"], row["se"]) == (24, 28, 24)
    assert op_from_row(row) == op and op_from_row(row).key == op.key
    assert op.renamed("blocks") == op  # names and parts are not the op's identity


def test_block_fusion_is_one_kernel_per_block_and_layer_fusion_splits_it():
    space = get_space("ofa-mbv3")
    spec = space.macro.block_spec(13, 5, 6, 224)  # 4th elastic stage (h-swish, SE), a residual block
    block = mbconv_op(spec)
    assert block.kind == "mbconv" and block.residual and block.se == spec.se_channels and block.is_composite
    layer = block.layer_ops()
    assert [op.kind for op in layer] == ["conv", "dwconv", "se", "conv"]
    assert layer[-1].fused == "conv+bn+add" and layer[-1].residual  # TensorRT fuses the add into the conv
    assert layer[1].kernel == 5 and layer[1].act == "h_swish" and layer[0].fused == "conv+bn+act"
    first = mbconv_op(space.macro.fixed_specs(224)[1])  # expand ratio 1: no expand conv
    assert [op.kind for op in first.layer_ops()] == ["dwconv", "conv"]
    assert block.macs == spec.macs and block.params == spec.params


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("name", ["ofa-mbv3", "ofa-mbv3-cifar"])
def test_every_subnet_op_is_among_the_space_ops(name, fusion, rng):
    space = get_space(name)
    keys = set(space.structure(fusion).unique_ops())
    for arch in space.decode_many(space.sample(20, rng)):
        assert {op.key for op in space.layers(arch, fusion)} <= keys


def test_ofa_space_op_counts():
    # distinct ops: stage-first and stage-other blocks x 9 (ks, e) x resolutions, minus the sizes shared
    assert len(get_space("ofa-mbv3").structure("block").unique_ops()) == 1257
    assert len(get_space("ofa-mbv3-w1.2").structure("block").unique_ops()) == 870


def test_bad_fusion():
    with pytest.raises(InvalidInput, match="unknown fusion mode 'fused'; known: block, layer"):
        check_fusion("fused")


def test_counts_are_the_sum_over_the_layers(rng):
    space = get_space("ofa-mbv3")
    g = space.sample(5, rng)
    for arch, macs, params in zip(space.decode_many(g), space.count(g)["macs"], space.count(g)["params"]):
        for fusion in FUSIONS:
            ops = space.layers(arch, fusion)
            assert sum(op.macs for op in ops) == macs and sum(op.params for op in ops) == params


def test_variant_index_skips_inactive_slots_and_ignores_inactive_genes(rng):
    space = get_space("ofa-mbv3")
    g = space.sample(50, rng)
    index = space.variant_index(g)
    structure = space.structure()
    assert index.shape == (50, structure.n_slots)
    assert np.array_equal(index[:, 2:22] >= 0, space.active_blocks(g))
    np.testing.assert_array_equal(index, space.variant_index(space.canonical(g)))
    assert all(-1 <= v < len(slot.variants) for row in index for v, slot in zip(row, structure.slots))


def test_restriction_keeps_the_variants_it_can_reach():
    full, small = get_space("ofa-mbv3"), get_space("ofa-mbv3[ks=3,r=128/224]")
    assert len(small.structure().slots[5].variants) == 1 * 3 * 2
    arch = small.decode(small.sample(1, np.random.default_rng(0))[0])
    assert [op.key for op in small.layers(arch)] == [op.key for op in full.layers(arch)]
    assert isinstance(small, Structured) and small.family == "ofa-mbv3"


def test_covering_restriction_drops_what_is_not_covered():
    space = get_space("ofa-mbv3")
    covered = {op.key for op in get_space("ofa-mbv3[r=160/224]").structure().unique_ops().values()}

    def covers(op, variant):
        return op.key in covered and variant.resolution in (160, 224)

    assert covering_restriction(space, covers) == {"r": (160, 224)}
    assert covering_restriction(space, lambda op, v: True) == {}
    with pytest.raises(InvalidInput, match="the target has no entry for op conv-in:"):
        covering_restriction(space, lambda op, v: False)
