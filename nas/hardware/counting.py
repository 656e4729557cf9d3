"""The device-independent targets: MACs and parameter count, computed from the arch."""

from __future__ import annotations

from search_spaces import SearchSpace, Structured
from search_spaces.errors import NotSupported

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
