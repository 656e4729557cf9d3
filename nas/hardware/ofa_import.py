"""Import once-for-all's YAML latency lookup tables (``{device}__{resolution}_lookup_table.yaml``).

once-for-all timed every op inside networks of one resolution per file; each key names one op in
once-for-all's own grammar, which the family that owns it registers as the ``once-for-all`` key format
(``search_spaces.ops.KEY_FORMATS``). Each key maps to exactly one op of the ``block`` fusion mode, so a
subnet's predicted latency is the sum of the same YAML means (bit for bit: the model adds them in the
same order).
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

from search_spaces import Structured, covering_restriction, get_space, list_spaces
from search_spaces.checks import read_yaml_file
from search_spaces.errors import InvalidInput, NasError
from search_spaces.ops import Op, key_parser

from .model import table_covers
from .table import LatencyTable

__all__ = ["import_ofa_tables", "parse_ofa_key", "spaces_covered"]


def parse_ofa_key(key: str) -> Op:
    """The op a once-for-all lookup-table key describes; ``InvalidInput`` for any other key."""
    return key_parser("once-for-all")(key)


def spaces_covered(table: LatencyTable) -> list[str]:
    """Registered structured spaces of which the table covers some restriction (one resolution, say)."""
    out = []
    for name in list_spaces():
        space = get_space(name)
        if not isinstance(space, Structured):
            continue
        try:
            covering_restriction(space, table_covers(table))
        except NasError:
            continue
        out.append(name)
    return out


_FILES = "{device}__{resolution}_lookup_table.yaml"


def _table_files(directory: Path, pattern: str) -> list[Path]:
    """The lookup-table files of one device in ``directory``, or ``InvalidInput`` saying what is wrong."""
    expected = f"a folder of once-for-all lookup tables ({_FILES}, e.g. note10__224_lookup_table.yaml)"
    if not directory.exists():
        raise InvalidInput(f"folder {directory} does not exist; expected {expected}")
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is a file; give the folder of once-for-all lookup tables ({_FILES}) "
                           f"instead, e.g. {directory.parent}")
    files = sorted(p for p in directory.glob(pattern) if p.is_file())
    if not files:
        others = sorted(p.name for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
        has = f" (it has {', '.join(others[:3])}{', ...' if len(others) > 3 else ''})" if others else \
            (" (it is empty)" if not any(directory.iterdir()) else "")
        raise InvalidInput(f"folder {directory} holds no once-for-all lookup tables matching {pattern}{has}; "
                           f"expected {expected}")
    devices = sorted({p.name.split("__", 1)[0] for p in files})
    if len(devices) > 1:
        raise InvalidInput(f"folder {directory} holds lookup tables of several devices ({', '.join(devices)}); "
                           f"import one device at a time from a folder of its own")
    return files


def _number(path: Path, key, entry: dict, field: str, default: float | None = None, whole: bool = False) -> float:
    value = entry.get(field, default)
    try:
        number = float(value)
        ok = number >= 0 and number != float("inf") and (not whole or number.is_integer())
    except (TypeError, ValueError):
        ok = False
    if not ok:
        kind = "a whole number >= 0" if whole else "a number of ms >= 0"
        raise InvalidInput(f"{path}: entry {key!r} has {field}={value!r}; expected {kind}")
    return number


def import_ofa_tables(directory: str | Path, name: str, pattern: str = "*_lookup_table.yaml") -> LatencyTable:
    """One LatencyTable from every once-for-all MBv3 YAML table (of one device) in ``directory``."""
    directory = Path(directory)
    files = _table_files(directory, pattern)
    rows: dict[tuple, dict] = {}
    for path in files:
        m = re.search(r"__(\d+)_", path.name)
        if m is None:
            raise InvalidInput(f"{path.name} does not name its resolution ({_FILES})")
        resolution = int(m.group(1))
        data = read_yaml_file(path, "lookup table")
        if not isinstance(data, dict) or not data:
            raise InvalidInput(f"{path} holds no lookup-table entries (expected a mapping of op keys to "
                               f"{{mean: ms, std: ms, count: n}})")
        for key, entry in data.items():
            if not isinstance(entry, dict) or "mean" not in entry:
                raise InvalidInput(f"{path}: entry {key!r} has no 'mean' (expected {{mean: ms, std: ms, count: n}})")
            try:
                op = parse_ofa_key(str(key))
            except InvalidInput as exc:
                raise InvalidInput(f"{path}: {exc}") from None
            # once-for-all timed every op inside networks of one resolution per file; the same head op
            # differs between files, so entries keep their resolution
            rows[(op.key, resolution)] = op.as_row() | {
                "latency_ms": _number(path, key, entry, "mean"), "spread_ms": _number(path, key, entry, "std", 0.0),
                "count": int(_number(path, key, entry, "count", 0, whole=True)), "resolution": resolution}
    resolutions = sorted({r for _, r in rows})
    metadata = {
        "name": name, "kind": "measured", "device": name, "runtime": "unknown (once-for-all: TF-Lite, as reported)",
        "batch_size": 1, "dtype": "float32", "fusion": "block", "statistic": "mean", "spread": "std",
        "source": f"once-for-all lookup tables {', '.join(p.name for p in files)} (github.com/han-cai/files)",
        "resolutions": resolutions,
        "measured_error": "unknown: once-for-all published no end-to-end check of these tables",
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    table = LatencyTable(list(rows.values()), metadata, origin=f"table {name}")
    table.metadata["spaces"] = spaces_covered(table)
    return table
