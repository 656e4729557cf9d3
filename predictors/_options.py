"""Declarative options of a predictor kind: a name, a type, a default and the allowed range or values.

Each kind lists its options once (``Predictor.options``); creating a predictor checks the given ones
against that list, so an unknown name, a value of the wrong type or out of range is one clear
``InvalidInput`` naming what is allowed, wherever the options come from (the CLI's ``--option``,
Python, a saved predictor's header).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from search_spaces.errors import InvalidInput

__all__ = ["Option", "check_options", "describe_options"]

_NUMBER = {int: "an integer", float: "a number", bool: "true or false", str: "a string", dict: "an object"}


@dataclass(frozen=True)
class Option:
    """One option: ``type`` is int, float, bool, str or list (of ``item``); ``gt``/``ge``/``le`` bound numbers
    (the items of a list); ``choices`` enumerates the allowed strings; ``also`` lists extra allowed values
    (``None``, ``"scale"``); ``min_len`` bounds a list's length; ``example`` and ``text`` go into messages."""

    type: type
    default: Any
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    choices: tuple[str, ...] = ()
    also: tuple[Any, ...] = ()
    item: type | None = None
    min_len: int = 0
    example: str = ""
    text: str = ""  # what it takes, in words, where the generated description would not say it well

    # ------------------------------------------------------------------ text
    def _bounds(self) -> str:
        parts = []
        if self.gt is not None:
            parts.append(f"> {_num(self.gt)}")
        if self.ge is not None:
            parts.append(f">= {_num(self.ge)}")
        if self.le is not None:
            parts.append(f"<= {_num(self.le)}")
        return " and ".join(parts)

    def _scalar_text(self, typ: type) -> str:
        if typ is str and self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        text = _NUMBER.get(typ, typ.__name__)
        bounds = self._bounds() if typ in (int, float) else ""
        return f"{text} {bounds}".strip()

    def describe(self) -> str:
        if self.text:
            return self.text + (f", e.g. {self.example}" if self.example else "")
        if self.type is list:
            item = self._scalar_text(self.item) if self.item is not None else "values"
            item = item.replace("an integer", "integers").replace("a number", "numbers").replace("an object",
                                                                                                  "objects")
            text = f"a {'non-empty ' if self.min_len else ''}list of {item}"
        else:
            text = self._scalar_text(self.type)
        if self.also:
            text += " or " + " or ".join(_show(a) for a in self.also)
        if self.example:
            text += f", e.g. {self.example}"
        return text

    # ----------------------------------------------------------------- check
    def check(self, value: Any) -> Any:
        """The value, normalized (ints as int, tuples as lists); ``ValueError`` when it is not allowed."""
        if any(value is a or (type(value) is type(a) and value == a) for a in self.also):
            return value
        if self.type is list:
            if not isinstance(value, (list, tuple)):
                raise ValueError
            if len(value) < self.min_len:
                raise ValueError
            return [self._scalar(v, self.item) for v in value] if self.item is not None else list(value)
        return self._scalar(value, self.type)

    def _scalar(self, value: Any, typ: type) -> Any:
        if typ is bool:
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise ValueError
        if typ is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                raise ValueError
            return value
        if typ is dict:
            if not isinstance(value, Mapping):
                raise ValueError
            return dict(value)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError
        if not math.isfinite(float(value)):
            raise ValueError
        if typ is int:
            if float(value) != int(value):
                raise ValueError
            value = int(value)
        else:
            value = float(value)
        if ((self.gt is not None and not value > self.gt) or (self.ge is not None and not value >= self.ge)
                or (self.le is not None and not value <= self.le)):
            raise ValueError
        return value


def check_options(kind: str, spec: Mapping[str, Option], given: Mapping[str, Any]) -> dict[str, Any]:
    """Every option of ``spec`` (given or default), checked and normalized; ``InvalidInput`` names the problem."""
    unknown = [name for name in given if name not in spec]
    if unknown:
        known = describe_options(spec) if spec else "none"
        raise InvalidInput(f"unknown {kind} option {unknown[0]!r}; {kind} options: {known}")
    out = {}
    for name, option in spec.items():
        value = given.get(name, option.default)
        try:
            out[name] = option.check(value)
        except (ValueError, TypeError, OverflowError):
            raise InvalidInput(f"invalid {kind} option {name}={_show(value)}: must be {option.describe()}") from None
    return out


def describe_options(spec: Mapping[str, Option]) -> str:
    """``name (what it takes, default D), ...`` on one line."""
    return ", ".join(f"{name} ({option.describe()}; default {_show(option.default)})"
                     for name, option in spec.items())


def _num(x: float) -> str:
    return f"{x:g}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, float) for v in value):
        text = "[" + ", ".join(f"{v:g}" for v in value) + "]"
    else:
        try:
            text = json.dumps(value, default=_plain)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError
