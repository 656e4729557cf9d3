"""The shared Registry: duplicates refused, unknown names explained, aliases, entry points."""

from __future__ import annotations

import pytest

from search_spaces import DuplicateName, Registry, UnknownName, get_space


def test_register_get_and_list():
    reg: Registry[int] = Registry("thing")
    reg.register("a", 1)
    reg.register("b", 2, aliases=("bee",))
    assert reg.get("a") == 1 and reg.get("bee") == 2 and reg.canonical("bee") == "b"
    assert reg.names() == ["a", "b"] and "bee" in reg and len(reg) == 2


def test_duplicates_are_refused():
    reg: Registry[int] = Registry("thing")
    reg.register("a", 1, aliases=("x",))
    with pytest.raises(DuplicateName, match="thing 'a' is already registered"):
        reg.register("a", 2)
    with pytest.raises(DuplicateName):
        reg.register("x", 3)


def test_unknown_names_list_the_known_ones():
    reg: Registry[int] = Registry("thing")
    reg.register("alpha", 1)
    reg.register("beta", 2)
    with pytest.raises(UnknownName, match=r"unknown thing 'alpah' \(did you mean 'alpha'\?\); known: alpha, beta"):
        reg.get("alpah")


def test_decorator_form():
    reg: Registry = Registry("factory")

    @reg.register("f")
    def f():
        return 42

    assert reg.get("f")() == 42


def test_unknown_space():
    with pytest.raises(UnknownName, match="unknown search space 'nope'; known: .*ofa-mbv3"):
        get_space("nope")


def test_entry_point_plugins_register_lazily(monkeypatch):
    class EP:
        name = "plugin-space"

        def load(self):
            return lambda: "loaded"

    import search_spaces._registry as registry

    monkeypatch.setattr(registry, "entry_points", lambda group: [EP()] if group == "test.group" else [])
    reg = Registry("plugin", entry_point_group="test.group")
    assert reg.names() == ["plugin-space"] and reg.get("plugin-space")() == "loaded"
