"""The device-independent targets: MACs, parameter count, model size and BitOPs, computed from the arch."""

from __future__ import annotations

from search_spaces import SearchSpace, Structured
from search_spaces.errors import NotSupported
from search_spaces.quantization import bit_counts

from ._target import CostModel, register_target

_PROVENANCE = {
    "kind": "analytic",
    "source": "computed from the arch (conv and linear multiply-accumulates; once-for-all's convention)",
    "measured_error": "exact: equals DyNAS-T's measurements on its OFA-MobileNetV3 w1.0 subnets and forward hooks "
                      "on extracted subnets of every structured space",
}


def _check_countable(space: SearchSpace) -> None:
    if not isinstance(space, Structured):
        raise NotSupported(f"space {space.name} has no params/MACs model (it declares no structure)")


@register_target("macs", info=lambda: dict(_PROVENANCE, unit="MACs"))
def macs_target(space: SearchSpace) -> CostModel:
    _check_countable(space)
    return CostModel("macs", "macs", "MACs", space, lambda g: space.count(g)["macs"], dict(_PROVENANCE))


@register_target("params", info=lambda: dict(_PROVENANCE, unit="params"))
def params_target(space: SearchSpace) -> CostModel:
    _check_countable(space)
    return CostModel("params", "params", "params", space, lambda g: space.count(g)["params"], dict(_PROVENANCE))


_BITS_PROVENANCE = {
    "kind": "analytic",
    "source": "per-layer bits (search_spaces.quantization): packed weights, per-channel scales and zero points, "
              "the rest fp32 (fp32 throughout without bits)",
    "measured_error": "exact count of that layout; not yet checked against an exported quantized file",
}


@register_target("size", info=lambda: dict(_BITS_PROVENANCE, unit="MB"))
def size_target(space: SearchSpace) -> CostModel:
    """Model size in MB (1e6 bytes): bits-aware on ``S+q`` spaces, 4 bytes per param elsewhere."""
    _check_countable(space)
    return CostModel("size", "size", "MB", space, lambda g: bit_counts(space, g)["bytes"] / 1e6,
                     dict(_BITS_PROVENANCE))


@register_target("bitops", info=lambda: dict(_BITS_PROVENANCE, unit="BitOPs",
                                             source="sum over layers of MACs x weight bits x activation bits "
                                                    "(32 x 32 for fp32 layers and spaces without bits)"))
def bitops_target(space: SearchSpace) -> CostModel:
    _check_countable(space)
    return CostModel("bitops", "bitops", "BitOPs", space, lambda g: bit_counts(space, g)["bitops"],
                     dict(_BITS_PROVENANCE, source="sum over layers of MACs x weight bits x activation bits"))
