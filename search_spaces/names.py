"""Space names: the one parser of ``family[key=v/v,key=v]`` restrictions, and the one formatter.

A restricted space is named by its family (the registered name) and, per restricted choice, the
options it keeps, in the order of the space's choices: ``ofa-mbv3[e=3/4,r=224]``. Everything that
needs the family of a name, or the options a name keeps, asks here instead of splitting strings.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .errors import InvalidArchitecture

__all__ = ["format_value", "parse_space_name", "split_overlays", "family_of", "format_space_name"]


def format_value(value: Any) -> str:
    """How an option value is written in names and ids: ``3``, ``0.25``, ``224`` (whole floats as ints)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_space_name(name: str) -> tuple[str, dict[str, list[str]]]:
    """``"ofa-mbv3[r=160/224,e=3]"`` -> ``("ofa-mbv3", {"r": ["160", "224"], "e": ["3"]})`` (values as text).

    An overlay (``+q``) is part of the family: ``"ofa-mbv3+q[wbits=8]"`` -> ``("ofa-mbv3+q", {"wbits": ["8"]})``.
    Its canonical form has one bracket at the end; ``"ofa-mbv3[r=160]+q[wbits=8]"`` (the base restricted
    first) reads the same: ``("ofa-mbv3+q", {"r": ["160"], "wbits": ["8"]})``.
    """
    if not isinstance(name, str):
        raise InvalidArchitecture(f"a space name must be text, not {type(name).__name__}")
    malformed = InvalidArchitecture(f"malformed space name {name!r}; expected e.g. 'ofa-mbv3[r=224]', "
                                    f"'ofa-mbv3[e=3/4,r=160/224]' or 'ofa-mbv3+q[wbits=8]'")
    family, bracket, rest = name.partition("[")
    family = family.strip()
    if not bracket:
        return family, {}
    spec, close, tail = rest.partition("]")
    if not close or "[" in spec or not family:
        raise malformed
    specs = [spec]
    if tail:  # "base[...]+overlay" or "base[...]+overlay[...]"
        overlay, bracket, rest = tail.partition("[")
        if not overlay.startswith("+") or "]" in overlay:
            raise malformed
        family += overlay.strip()
        if bracket:
            spec, close, tail = rest.partition("]")
            if not close or tail.strip() or "[" in spec:
                raise malformed
            specs.append(spec)
    out: dict[str, list[str]] = {}
    for spec in specs:
        for part in spec.split(","):
            key, sep, values = part.partition("=")
            key = key.strip()
            texts = [t.strip() for t in values.split("/")]
            if not sep or not key or not all(texts):
                raise InvalidArchitecture(f"malformed restriction {part.strip()!r} in {name!r}; expected key=v or "
                                          f"key=v/v/... (e.g. r=160/224)")
            if key in out:
                raise InvalidArchitecture(f"{name!r} restricts {key!r} twice; list its options once (e.g. {key}=a/b)")
            out[key] = texts
    return family, out


def split_overlays(family: str) -> tuple[str, tuple[str, ...]]:
    """``"ofa-mbv3+q"`` -> ``("ofa-mbv3", ("q",))``: the base space and the overlays applied to it."""
    base, *overlays = family.split("+")
    return base.strip(), tuple(o.strip() for o in overlays)


def family_of(name: str) -> str:
    """The registered space a (possibly restricted) name belongs to."""
    return parse_space_name(name)[0]


def format_space_name(family: str, restriction: Mapping[str, Sequence], order: Sequence[str]) -> str:
    """The canonical name of ``family`` restricted to ``restriction`` (keys in ``order``)."""
    parts = [f"{key}={'/'.join(format_value(v) for v in restriction[key])}" for key in order if key in restriction]
    return f"{family}[{','.join(parts)}]" if parts else family
