"""Roofline kernels of the token ops: matmul MACs add up to the op's MACs, and the modeled Jetson latency of a
vision transformer grows with its widths and token count."""

from __future__ import annotations

import numpy as np
import pytest

from nas.hardware import get_target
from nas.hardware.roofline import KERNEL_RULES, kernels_of
from search_spaces import get_space

SPACE = "vit-resnas-cifar"


def _layer_ops(kind: str):
    space = get_space(SPACE)
    return [op for op in space.structure("layer").unique_ops().values() if op.kind == kind]


@pytest.mark.parametrize("kind", ["attention", "mlp", "patch_embed", "cls_head"])
def test_matmul_kernels_carry_the_ops_macs(kind):
    ops = _layer_ops(kind)
    assert ops, f"{SPACE} declares no {kind} op"
    for op in ops:
        dense = sum(k.macs for k in kernels_of(op) if k.kind in ("pw", "conv", "linear"))
        assert dense == op.macs, op.key


def test_every_token_kind_of_the_space_has_a_rule():
    kinds = {op.kind for op in get_space(SPACE).structure("layer").unique_ops().values()}
    assert {"attention", "mlp", "layernorm", "patch_embed", "spatial_reduction", "cls_head"} <= kinds
    assert kinds - {"conv"} <= set(KERNEL_RULES)


def test_residual_reduction_costs_its_pooling_on_top_of_the_plain_one():
    op = _layer_ops("spatial_reduction")[0]
    from dataclasses import replace

    plain = replace(op, residual=False)
    assert len(kernels_of(op)) == len(kernels_of(plain)) + 1


def test_the_plain_space_is_costed_and_profiled_as_the_plain_network(rng):
    """The latency paths build ops from the space: the plain space's reductions are the plain ones, so its
    subnets are priced without the pooled skip and its profile has (only) plain reduction keys to measure."""
    from nas.hardware.profiling import space_specs

    residual, plain = get_space(SPACE), get_space("vit-resnas-cifar-plain")
    genomes = residual.sample(20, rng)
    costs = [np.asarray(get_target("jetson", s).predict(genomes), dtype=float).ravel() for s in (residual, plain)]
    assert np.all(costs[1] < costs[0])
    keys = [spec["key"] for spec in space_specs(plain) if spec["kind"] == "spatial_reduction"]
    assert keys and all("-res:0-" in k for k in keys)
    assert {k.replace("-res:0-", "-res:1-") for k in keys} == {
        spec["key"] for spec in space_specs(residual) if spec["kind"] == "spatial_reduction"}


def test_modeled_jetson_latency_grows_with_width():
    space = get_space(SPACE)
    cost = get_target("jetson", space)
    largest, smallest = space.extremes()
    genomes = space.encode_many([largest, smallest])
    latency = np.asarray(cost.predict(genomes), dtype=float).ravel()
    assert latency[0] > latency[1] > 0
