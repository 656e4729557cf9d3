"""String-keyed registries shared by every package (spaces, supernets, targets, searchers, ...).

Third parties plug in through an entry-point group: each entry point is a callable or object that
is registered under the entry point's name the first time the registry is listed or queried.
"""

from __future__ import annotations

import difflib
from importlib.metadata import entry_points
from typing import Callable, Generic, Iterator, TypeVar

from .errors import DuplicateName, InvalidArchitecture, InvalidInput, NasError, UnknownName
from .names import format_value, parse_space_name, split_overlays

T = TypeVar("T")

__all__ = ["Registry", "register_space", "get_space", "list_spaces", "SPACES", "OVERLAYS", "register_overlay",
           "list_overlays"]


class Registry(Generic[T]):
    """A name -> object mapping that refuses duplicates and explains unknown names."""

    def __init__(self, kind: str, entry_point_group: str | None = None):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}
        self._entry_points_loaded = entry_point_group is None

    def register(self, name: str, obj: T | None = None, *, aliases: tuple[str, ...] = ()):
        """Register ``obj`` under ``name``; without ``obj`` returns a decorator."""

        def _add(item: T) -> T:
            for key in (name, *aliases):
                if key in self._items or key in self._aliases:
                    raise DuplicateName(f"{self.kind} {key!r} is already registered")
            self._items[name] = item
            for alias in aliases:
                self._aliases[alias] = name
            return item

        if obj is not None:
            return _add(obj)
        return _add

    def register_class(self, name: str, attribute: str = "name", *, aliases: tuple[str, ...] = ()):
        """Decorator for classes: registers the class and sets ``cls.<attribute> = name``."""

        def _add(cls):
            setattr(cls, attribute, name)
            return self.register(name, cls, aliases=aliases)

        return _add

    def unregister(self, name: str) -> None:
        """Remove a registration (used by tests and plugins that replace themselves)."""
        self._items.pop(name, None)
        for alias in [a for a, n in self._aliases.items() if n == name]:
            del self._aliases[alias]

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            if ep.name not in self._items and ep.name not in self._aliases:
                self.register(ep.name, ep.load())

    def canonical(self, name: str) -> str:
        """The registered name behind ``name`` (resolving aliases); raises ``UnknownName``."""
        self._load_entry_points()
        if name in self._items:
            return name
        if name in self._aliases:
            return self._aliases[name]
        known = self.names()
        hint = difflib.get_close_matches(name, known + list(self._aliases), n=1)
        did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise UnknownName(f"unknown {self.kind} {name!r}{did_you_mean}; known: {', '.join(known)}")

    def get(self, name: str) -> T:
        return self._items[self.canonical(name)]

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._items)

    def aliases(self) -> dict[str, str]:
        self._load_entry_points()
        return dict(self._aliases)

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._items or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())


#: Search spaces are registered as zero-argument factories so that importing the package stays cheap.
SPACES: Registry[Callable[[], "object"]] = Registry("search space", entry_point_group="nas.search_spaces")
_instances: dict[str, object] = {}


def register_space(name: str, *, aliases: tuple[str, ...] = ()):
    """Decorator: ``@register_space("my-space")`` on a factory returning a ``SearchSpace``."""
    return SPACES.register(name, aliases=aliases)


#: Overlays add dimensions to any space: ``"S+q"`` is ``OVERLAYS.get("q")(get_space("S"))``. An overlay factory
#: takes the base space, returns the overlaid space, and raises ``NasError`` for a base it cannot apply to.
OVERLAYS: Registry[Callable[[object], "object"]] = Registry("space overlay", entry_point_group="nas.space_overlays")


def register_overlay(name: str):
    """Decorator: ``@register_overlay("q")`` on a factory ``base space -> overlaid space``."""
    return OVERLAYS.register(name)


def get_space(name: str):
    """The registered search space ``name`` (one shared instance per name).

    ``"ofa-mbv3[r=224]"`` (the names ``SearchSpace.restrict`` gives) returns the restricted space;
    ``"ofa-mbv3+q"`` the space with an overlay (``OVERLAYS``), restricted as ``"ofa-mbv3+q[r=224,wbits=8]"``
    (``"ofa-mbv3[r=224]+q[wbits=8]"`` is the same space).
    """
    if name in _instances:
        return _instances[name]
    family, restriction = parse_space_name(name)
    if family in _instances:
        space = _instances[family]
    elif "+" in family and family not in SPACES:
        space = _instances[family] = _overlaid(family)
    else:
        canonical = SPACES.canonical(family)
        if canonical not in _instances:
            _instances[canonical] = SPACES.get(canonical)()
        space = _instances[canonical]
    if restriction:
        space = space.restrict(**_restriction_values(space, name, restriction))
        space = _instances.setdefault(space.name, space)  # "S[r=160]+q" and "S+q[r=160]" share one instance
        _instances[name] = space
    return space


def _overlaid(family: str):
    base, overlays = split_overlays(family)
    if len(overlays) > 1:
        raise InvalidInput(f"{family!r} overlays an overlay: apply one overlay to a registered space, e.g. "
                           f"'{base}+{overlays[0]}' (known overlays: {', '.join('+' + o for o in OVERLAYS.names())})")
    if not overlays[0]:
        raise InvalidInput(f"malformed space name {family!r}: name an overlay after '+' "
                           f"(known: {', '.join('+' + o for o in OVERLAYS.names())})")
    factory = OVERLAYS.get(overlays[0])
    return factory(get_space(base))


def _restriction_values(space, name: str, restriction: dict[str, list[str]]) -> dict:
    """Option values of the texts a name restricts to, each checked against the space."""
    error = getattr(space, "restriction_error", InvalidArchitecture)
    out = {}
    for key, texts in restriction.items():
        if key not in space.keys:
            raise error(f"unknown key {key!r} in {name!r}; expected keys: {', '.join(space.keys)}")
        by_text = {format_value(o): o for o in space.choice(key).options}
        bad = next((t for t in texts if t not in by_text), None)
        if bad is not None:
            raise error(f"{key}={bad} in {name!r} is not allowed; allowed values: {space.choice(key).allowed}")
        out[key] = [by_text[t] for t in texts]
    return out


def list_overlays() -> list[str]:
    return OVERLAYS.names()


def list_spaces(overlays: bool = False) -> list[str]:
    """Registered spaces; with ``overlays``, also ``S+o`` for every registered space ``S`` and overlay ``o``
    that applies to it (e.g. ``ofa-mbv3+q``)."""
    names = SPACES.names()
    if not overlays:
        return names
    out = list(names)
    for overlay in OVERLAYS.names():
        for base in names:
            try:
                get_space(f"{base}+{overlay}")
            except NasError:  # the overlay does not apply to this space (or a plugin space is broken)
                continue
            out.append(f"{base}+{overlay}")
    return out
