"""``nas targets``: hardware targets with their provenance and measured error."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from ..hardware import latency_api
from ._common import app, console, print_json, user_errors


def _error(info: dict) -> str:
    """The measured-error cell; a table with odd metadata (edited by hand, say) shows it, never a traceback."""
    if info.get("problem"):
        return f"unreadable: {info['problem']}"
    try:
        return _described_error(info)
    except (KeyError, TypeError, ValueError):
        return f"unreadable measured_error: {info.get('measured_error')!r}"


def _described_error(info: dict) -> str:
    err = info.get("measured_error")
    if isinstance(err, str):
        return err
    if isinstance(err, dict):
        if "within_10pct" in err:
            return f"{100 * err['within_10pct']:.0f}% within +-10% on {err.get('samples', err.get('n'))} subnets"
        loo = err.get("leave_one_out_all_validated_layers")
        if loo:
            return (f"leave-one-out on {loo['n']} measured layers: median {loo['median_abs_pct']}%, "
                    f"{100 * loo['within_10pct']:.0f}% within +-10%")
    cal = info.get("calibration")
    if isinstance(cal, dict) and "subnets" in cal:
        return f"calibrated on {cal['subnets']} subnets (not validated yet: nas latency validate)"
    return str(info.get("status", "unknown"))


@app.command("targets")
@user_errors
def targets(json_out: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """List hardware targets with how they were made and how far off they were."""
    rows = latency_api.targets()
    if json_out:
        print_json(rows)
        return
    table = Table(title="hardware targets (also: any latency table file)")
    for col in ("name", "kind", "device / runtime", "measured error", "source"):
        table.add_column(col, overflow="fold")
    for r in rows:
        name = str(r["name"]) + (f" ({', '.join(map(str, r['aliases']))})" if r.get("aliases") else "")
        device = " / ".join(str(r[k]) for k in ("device", "runtime") if r.get(k))
        if r.get("status", "").startswith("unavailable"):
            device += f" ({r['status']})"
        cells = (name, str(r.get("kind", "")), device, _error(r), str(r.get("source", r.get("table", ""))))
        table.add_row(*(escape(c) for c in cells))
    console.print(table)
