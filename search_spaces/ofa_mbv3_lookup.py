"""once-for-all's latency lookup-table keys (MobileNetV3 tables, e.g. Samsung Note10) as ops.

once-for-all sums, per subnet: ``Conv`` (stem), one ``expanded_conv`` per block (the fixed first
block included), ``Conv_1`` (final expand), ``AvgPool2D``, ``Conv_2`` (feature mix) and ``Logits``;
each maps to exactly one op of the ``block`` fusion mode of the OFA-MobileNetV3 spaces. Registered as
the ``once-for-all`` key format, which ``nas latency import-ofa`` reads.
"""

from __future__ import annotations

import re

from .errors import InvalidInput
from .mobilenet_v3_layout import make_divisible
from .ops import Op, register_key_format

__all__ = ["parse_ofa_key"]

_SHAPE = r"(\d+)x(\d+)x(\d+)"
_BLOCK = re.compile(rf"^expanded_conv-input:{_SHAPE}-output:{_SHAPE}-expand:(\d+)-kernel:(\d+)-stride:(\d+)"
                    rf"-idskip:([01])-se:([01])-hs:([01])$")
_LAYER = re.compile(rf"^(Conv|Conv_1|Conv_2|AvgPool2D)-input:{_SHAPE}-output:{_SHAPE}$")
_LOGITS = re.compile(r"^Logits-input:1x1x(\d+)-output:(\d+)$")


@register_key_format("once-for-all")
def parse_ofa_key(key: str) -> Op:
    """The op a once-for-all MobileNetV3 lookup-table key describes; ``InvalidInput`` for any other key."""
    m = _BLOCK.match(key)
    if m:
        ih, iw, ic, oh, ow, oc, mid, k, s, skip, se, hs = map(int, m.groups())
        se_width = make_divisible(mid // 4, 8) if se else 0
        return Op("mbconv", (ih, iw, ic), (oh, ow, oc), k, s, mid, se_width, "h_swish" if hs else "relu", True,
                  bool(skip), "block")
    m = _LAYER.match(key)
    if m:
        name, (ih, iw, ic, oh, ow, oc) = m.group(1), map(int, m.groups()[1:])
        if name == "AvgPool2D":
            return Op("pool", (ih, iw, ic), (oh, ow, oc), fused="mean")
        kernel, stride, bn = {"Conv": (3, 2, True), "Conv_1": (1, 1, True), "Conv_2": (1, 1, False)}[name]
        return Op("conv", (ih, iw, ic), (oh, ow, oc), kernel, stride, act="h_swish", bn=bn,
                  fused="conv" + ("+bn" if bn else "") + "+act")
    m = _LOGITS.match(key)
    if m:
        cin, cout = map(int, m.groups())
        return Op("linear", (1, 1, cin), (1, 1, cout), fused="linear+bias")
    raise InvalidInput(f"{key!r} is not a once-for-all MobileNetV3 lookup-table key")
