"""String-keyed registries shared by every package (spaces, supernets, targets, searchers, ...).

Third parties plug in through an entry-point group: each entry point is a callable or object that
is registered under the entry point's name the first time the registry is listed or queried.
"""

from __future__ import annotations

import difflib
from importlib.metadata import entry_points
from typing import Callable, Generic, Iterator, TypeVar

from .errors import DuplicateName, InvalidArchitecture, UnknownName
from .names import format_value, parse_space_name

T = TypeVar("T")

__all__ = ["Registry", "register_space", "get_space", "list_spaces", "SPACES"]


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


def get_space(name: str):
    """The registered search space ``name`` (one shared instance per name).

    ``"ofa-mbv3[r=224]"`` (the names ``SearchSpace.restrict`` gives) returns the restricted space.
    """
    if name in _instances:
        return _instances[name]
    family, restriction = parse_space_name(name)
    canonical = SPACES.canonical(family)
    if canonical not in _instances:
        _instances[canonical] = SPACES.get(canonical)()
    space = _instances[canonical]
    if restriction:
        space = space.restrict(**_restriction_values(space, name, restriction))
        _instances[name] = space
    return space


def _restriction_values(space, name: str, restriction: dict[str, list[str]]) -> dict:
    """Option values of the texts a name restricts to, each checked against the space."""
    out = {}
    for key, texts in restriction.items():
        if key not in space.keys:
            raise InvalidArchitecture(f"unknown key {key!r} in {name!r}; expected keys: {', '.join(space.keys)}")
        by_text = {format_value(o): o for o in space.choice(key).options}
        bad = next((t for t in texts if t not in by_text), None)
        if bad is not None:
            raise InvalidArchitecture(f"{key}={bad} in {name!r} is not allowed; allowed values: "
                                      f"{space.choice(key).allowed}")
        out[key] = [by_text[t] for t in texts]
    return out


def list_spaces() -> list[str]:
    return SPACES.names()
