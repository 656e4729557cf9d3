"""Translate another project's state-dict keys to ours and back, by templates, and load strictly.

A template pair ``("blocks.{b}.conv1.conv.weight", "blocks.{b}.conv1.weight")`` names fields in braces;
each field's regular expression is given once per map. ``shift`` maps a field of the foreign side to
one of ours by an offset (once-for-all's MobileNetV3 counts its fixed first block, we do not).
"""

from __future__ import annotations

import re
from typing import Callable, Mapping, Sequence

import torch

from search_spaces.errors import CheckpointError

__all__ = ["KeyMap"]


class KeyMap:
    def __init__(self, templates: Sequence[tuple[str, str]], fields: Mapping[str, str],
                 shift: tuple[str, str, int] | None = None, normalize: Callable[[str], str] = lambda k: k,
                 describe: str = "the checkpoint's network"):
        self.fields, self.shift, self.normalize, self.describe = dict(fields), shift, normalize, describe
        self.forward = [(self._compile(theirs), ours) for theirs, ours in templates]
        self.backward = [(self._compile(ours), theirs) for theirs, ours in templates]

    def _compile(self, template: str) -> re.Pattern:
        pattern = re.escape(template)
        for name, rx in self.fields.items():
            pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>{rx})")
        return re.compile(f"^{pattern}$")

    def _translate(self, key: str, table, sign: int) -> str | None:
        for pattern, template in table:
            m = pattern.match(key)
            if m:
                values = m.groupdict()
                if self.shift is not None:
                    theirs, ours, offset = self.shift
                    src, dst = (theirs, ours) if sign > 0 else (ours, theirs)
                    if src in values:
                        values[dst] = str(int(values.pop(src)) + sign * offset)
                return template.format(**values)
        return None

    def to_ours(self, key: str) -> str | None:
        return self._translate(self.normalize(key), self.forward, +1)

    def to_theirs(self, key: str) -> str | None:
        return self._translate(key, self.backward, -1)

    def load(self, supernet: torch.nn.Module, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Copy ``state_dict`` into ``supernet``: every key placed, every shape equal, nothing missing."""
        ours = supernet.state_dict()
        mapped: dict[str, torch.Tensor] = {}
        for key, value in state_dict.items():
            target = self.to_ours(key)
            if target is None or target not in ours:
                raise CheckpointError(f"key {key!r} has no place in supernet {supernet.space.name} "
                                      f"(is the checkpoint {self.describe}?)")
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != tuple(ours[target].shape):
                shape = list(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                raise CheckpointError(f"checkpoint tensor {key} has shape {shape} but supernet "
                                      f"{supernet.space.name} expects {list(ours[target].shape)}: the checkpoint "
                                      f"was made for another space or width")
            mapped[target] = value
        missing = sorted(set(ours) - set(mapped))
        if missing:
            raise CheckpointError(f"checkpoint lacks {len(missing)} tensors, e.g. {self.to_theirs(missing[0])}")
        supernet.load_state_dict(mapped)

    def export(self, supernet: torch.nn.Module) -> dict[str, torch.Tensor]:
        """``supernet``'s weights under the other project's key names."""
        out = {}
        for key, value in supernet.state_dict().items():
            theirs = self.to_theirs(key)
            if theirs is None:
                raise CheckpointError(f"supernet tensor {key!r} has no counterpart in the other format")
            out[theirs] = value
        return out
