"""LatencyTable files: round trips, provenance, and clear errors for broken or foreign files."""

from __future__ import annotations

import json

import pytest

from nas.hardware.table import LatencyTable, read_table
from search_spaces.errors import InvalidInput

from .conftest import synthetic_table


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_is_exact(tiny_space, tmp_path, suffix):
    table = synthetic_table(tiny_space)
    path = table.save(tmp_path / f"t{suffix}")
    back = read_table(path)
    assert back.metadata == table.metadata and len(back) == len(table) == 16
    for key in table.keys:
        assert back.latency(key) == table.latency(key)  # bit for bit


def test_resolution_specific_entries_win_over_generic(tiny_space, tmp_path):
    table = synthetic_table(tiny_space)
    key = table.keys[0]
    extra = table.rows[table.rows["key"] == key].copy()
    extra["resolution"], extra["latency_ms"] = 128, 99.0
    both = LatencyTable(list(table.rows.to_dict("records")) + list(extra.to_dict("records")), table.metadata)
    back = read_table(both.save(tmp_path / "r.csv"))
    assert back.get(key, 128) == 99.0 and back.get(key, 160) == table.latency(key) and back.get(key) != 99.0


def _write(tmp_path, text: str, name: str = "bad.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _good_text(tiny_space, tmp_path) -> str:
    return synthetic_table(tiny_space).save(tmp_path / "good.csv").read_text()


def test_truncated_file(tiny_space, tmp_path):
    text = _good_text(tiny_space, tmp_path)
    with pytest.raises(InvalidInput, match="truncated"):
        read_table(_write(tmp_path, text[: len(text) - 7]))


def test_not_a_table_and_corrupt_metadata(tmp_path):
    with pytest.raises(InvalidInput, match="is not a latency table: its first line must be"):
        read_table(_write(tmp_path, "key,latency_ms\nx,1\n"))
    with pytest.raises(InvalidInput, match="corrupt metadata"):
        read_table(_write(tmp_path, "# nas-latency-table {oops\nkey,latency_ms\n"))
    with pytest.raises(InvalidInput, match="does not exist"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(InvalidInput, match="expected .csv or .parquet"):
        read_table(_write(tmp_path, "{}", "t.json"))
    (tmp_path / "x.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InvalidInput, match="not a readable Parquet"):
        read_table(tmp_path / "x.parquet")


def _set_latency(lines: list[str], value: str) -> list[str]:
    parts = lines[2].split(",")
    parts[lines[1].split(",").index("latency_ms")] = value
    return lines[:2] + [",".join(parts)] + lines[3:]


@pytest.mark.parametrize("edit, message", [
    (lambda lines: [lines[0], lines[1].replace("latency_ms", "lat")] + lines[2:], "column 'latency_ms' is missing"),
    (lambda lines: _set_latency(lines, "-1"), "latency_ms=-1.0 in data row 1 .* is not a non-negative number"),
    (lambda lines: _set_latency(lines, "abc"), "latency_ms=abc in data row 1 .* is not a non-negative number"),
    (lambda lines: lines + [lines[2]], "twice"),
])
def test_corrupt_rows(tiny_space, tmp_path, edit, message):
    lines = edit(_good_text(tiny_space, tmp_path).splitlines())
    with pytest.raises(InvalidInput, match=message):
        read_table(_write(tmp_path, "\n".join(lines) + "\n"))


def test_missing_provenance(tiny_space, tmp_path):
    table = synthetic_table(tiny_space)
    meta = {k: v for k, v in table.metadata.items() if k != "device"}
    lines = table.save(tmp_path / "t.csv").read_text().splitlines()
    lines[0] = "# nas-latency-table " + json.dumps(meta)
    with pytest.raises(InvalidInput, match="lacks metadata 'device'"):
        read_table(_write(tmp_path, "\n".join(lines) + "\n"))


def test_bad_suffix_on_save(tiny_space, tmp_path):
    with pytest.raises(InvalidInput, match="use .csv or .parquet"):
        synthetic_table(tiny_space).save(tmp_path / "t.txt")
