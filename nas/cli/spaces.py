"""``nas spaces``: registered search spaces, their dimensions and sizes."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from .. import api
from ._common import app, console, print_json, user_errors


@app.command("spaces")
@user_errors
def spaces(name: str = typer.Argument(None, help="Show one space only."),
           json_out: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """List the registered search spaces with their dimensions and sizes."""
    info = api.space_info(name)
    if json_out:
        print_json(info)
        return
    table = Table(title="search spaces")
    for col in ("name", "subnets", "genes", "dimensions", "description"):
        table.add_column(col)
    for s in info:
        dims = "; ".join(f"{c['key']}{'x' + str(c['count']) if c['count'] > 1 else ''} in {_options(c['options'])}"
                         for c in s["choices"])
        size = int(s["size"])
        table.add_row(s["name"], f"{size:,}" if size < 1_000_000 else f"{float(size):.2e}", str(s["genes"]), dims,
                      s["description"])
    console.print(table)
    if name is None:
        _overlays()


def _overlays() -> None:
    """One line per overlay (``S+q``): what it adds and the spaces it applies to."""
    from search_spaces import OVERLAYS, list_overlays, list_spaces

    names = list_spaces(overlays=True)
    for overlay in list_overlays():
        bases = [n[:-len(overlay) - 1] for n in names if n.endswith(f"+{overlay}")]
        if bases:
            doc = " ".join((OVERLAYS.get(overlay).__doc__ or "").split()).rstrip(".")
            console.print(escape(f"overlay +{overlay}: {doc}; applies to {', '.join(bases)} "
                                 f"(e.g. `nas spaces {bases[0]}+{overlay}`)"))


def _options(options: list) -> str:
    if len(options) > 6 and all(isinstance(o, int) for o in options):
        step = options[1] - options[0]
        if all(b - a == step for a, b in zip(options, options[1:])):
            return f"{options[0]}..{options[-1]} step {step}"
    return "{" + ",".join(map(str, options)) + "}"
