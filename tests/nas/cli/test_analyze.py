"""``nas analyze`` end to end on a small space, and its bad input as one line with exit code 2."""

from __future__ import annotations

import csv
import json
import math
import os

import pytest
from typer.testing import CliRunner

from nas.cli import app
from search_spaces import get_space

runner = CliRunner()
SPACE = "ofa-mbv3-cifar-small"
FAST = ["--warmup", "0", "--repeats", "1", "--flush-mb", "0", "--gemm-n", "32", "--copy-mib", "0.25",
        "--peak-repeats", "1", "--no-progress"]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def arch_file(tmp_path, rng):
    space = get_space(SPACE)
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(space.decode(space.sample(1, rng)[0])))
    return path


def _one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_end_to_end_writes_every_output(tmp_path, arch_file):
    out = tmp_path / "analysis"
    result = runner.invoke(app, ["analyze", "--space", SPACE, "--arch", str(arch_file), "--out", str(out), *FAST])
    assert result.exit_code == 0, result.output
    assert "peaks on" in result.output and "waterline" in result.output and "dwconv" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["analysis.json", "efficiency_gap.png", "kernels.csv",
                                                     "waterline.png"]
    doc = json.loads((out / "analysis.json").read_text())
    assert doc["settings"]["runtimes"] == ["eager", "torchscript"]
    totals = doc["subnets"][0]["totals"]
    for runtime in ("eager", "torchscript"):
        assert math.isfinite(totals["latency_ms"][runtime]) and totals["latency_ms"][runtime] > 0
    assert 0 < totals["waterline_fused_ms"] <= totals["waterline_layer_ms"]
    rows = list(csv.DictReader((out / "kernels.csv").open()))
    assert {r["level"] for r in rows} == {"op", "layer"} and "efficiency_torchscript" in rows[0]
    for name in ("efficiency_gap.png", "waterline.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_peaks_only_prints_the_peaks(tmp_path):
    result = runner.invoke(app, ["analyze", "--peaks-only", "--json", *FAST])
    assert result.exit_code == 0, result.output
    peaks = json.loads(result.output)
    assert peaks["peak_flops"] > 0 and peaks["bandwidth"] > 0 and peaks["threads"] == 1
    again = runner.invoke(app, ["analyze", "--peaks-only", *FAST])
    assert again.exit_code == 0 and "cached" in again.output


@pytest.mark.parametrize("args, message", [
    (["--space", "no-such-space"], "no-such-space"),
    (["--runtime", "tensorrt"], "unknown runtime 'tensorrt'"),
    (["--batch", "0"], "--batch"),
    (["--threads", "3"], "--threads 3 exceeds the 2 CPUs"),
    (["--top", "2"], "--top K picks front subnets"),
    (["--space", "nas-bench-201"], "nas-bench-201"),
])
def test_bad_input_is_one_line_exit_2(args, message, arch_file, tmp_path, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # this machine, as the --threads check sees it
    base = ["analyze", "--space", SPACE, "--arch", str(arch_file), "--out", str(tmp_path / "out"), *FAST]
    if args[0] == "--space":
        base = [a for i, a in enumerate(base) if a != "--space" and base[i - 1] != "--space"]
    line = _one_error_line(runner.invoke(app, base + args))
    assert message in line
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()  # nothing measured or written


def test_a_folder_of_other_files_is_refused(tmp_path, arch_file):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    line = _one_error_line(runner.invoke(app, ["analyze", "--space", SPACE, "--arch", str(arch_file), "--out",
                                               str(tmp_path / "out"), *FAST]))
    assert "is not empty" in line


def test_no_arguments_show_help():
    result = runner.invoke(app, ["analyze"])
    assert result.exit_code == 0 and "Usage" in result.output
