"""Every command path of the ``nas`` app (e.g. ``("latency", "fit")``), for tests over all commands."""

from __future__ import annotations

import typer

from nas.cli import app


def _paths(command, prefix=()):
    children = getattr(command, "commands", {})
    if not children:
        return [prefix]
    return [path for name, child in children.items() for path in _paths(child, prefix + (name,))]


COMMANDS = _paths(typer.main.get_command(app))
