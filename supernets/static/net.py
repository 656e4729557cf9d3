"""``StaticNet``: a subnet as plain modules, built from the ops its space declares (what ``extract``
returns and ``nas export`` writes). Consecutive ops with the same name form one ``nn.Sequential``
(``blocks.0``, ``blocks.1``, ...); a name used once is the module itself."""

from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

from torch import nn

from search_spaces.ops import Op

from .oplib import build_op

__all__ = ["StaticNet"]


class StaticNet(nn.Sequential):
    """The ops of one subnet in execution order; ``input_shape`` is (C, H, W)."""

    def __init__(self, ops: Sequence[Op], input_shape: Sequence[int], bn_momentum: float = 0.1,
                 bn_eps: float = 1e-5):
        groups: list[tuple[str, list[nn.Module]]] = []
        for op in ops:
            name = op.name or "layers"
            module = build_op(op.as_spec())[0]
            if groups and groups[-1][0] == name:
                groups[-1][1].append(module)
            elif any(n == name for n, _ in groups):
                raise ValueError(f"op name {name!r} appears in two separate places of the network")
            else:
                groups.append((name, [module]))
        modules = OrderedDict((name, mods[0] if len(mods) == 1 else nn.Sequential(*mods))
                              for name, mods in groups)
        super().__init__(modules)
        self.input_shape = [int(v) for v in input_shape]
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum, m.eps = bn_momentum, bn_eps
