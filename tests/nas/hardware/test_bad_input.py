"""Bad input to `nas latency ...`, `nas targets` and their Python API: one `error:` line, exit code 2, no
traceback and nothing written (no table, no `.partial` journal, no named target)."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nas.cli import app
from nas.hardware import latency_api, opbench
from search_spaces import get_space
from search_spaces.errors import InvalidInput, NasError

from ...conftest import shared_path
from .conftest import TINY, synthetic_table

runner = CliRunner()


def _files(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def workdir(tmp_path, cache, monkeypatch):
    """An empty current folder (default outputs land here) with an isolated engine cache."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def fails(*args, root=None) -> str:
    """Run the CLI and return its one error line; ``root`` must end up holding the same files as before."""
    before = _files(root) if root is not None else None
    result = runner.invoke(app, [str(a) for a in args])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    if root is not None:
        assert _files(root) == before, "a failed command left files behind"
    return lines[0]


def _measurements(path, n: int = 10, **columns):
    space = get_space("ofa-mbv3")
    archs = space.decode_many(space.sample(n, np.random.default_rng(0)))
    pd.DataFrame({"arch": [json.dumps(a) for a in archs], **columns}).to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------------------- profile
def test_profile_unknown_device_fails_before_writing(workdir, tmp_path):
    line = fails("latency", "profile", "--space", TINY, "--device", "nope", "--out", "t.csv", root=tmp_path)
    assert "unknown device 'nope'" in line and "allowed: cpu" in line


@pytest.mark.parametrize("option,value", [("--threads", -1), ("--flush-mb", -5), ("--calibrate", -1),
                                          ("--batch", 0), ("--warmup", -1), ("--repeats", 0)])
def test_profile_option_out_of_range(workdir, tmp_path, option, value):
    line = fails("latency", "profile", "--space", TINY, option, value, "--out", "t.csv", root=tmp_path)
    assert option in line


@pytest.mark.parametrize("option,value,words", [("--threads", 100_000, "exceeds the"),
                                                ("--flush-mb", 1e12, "exceeds half of this machine's"),
                                                ("--batch", 100_000, "more than half of this machine's")])
def test_profile_settings_beyond_this_machine_fail_before_measuring(workdir, tmp_path, option, value, words):
    line = fails("latency", "profile", "--space", TINY, option, value, "--out", "t.csv", root=tmp_path)
    assert option in line and words in line


def test_profile_calibrate_below_three_fails_before_profiling(workdir, tmp_path):
    line = fails("latency", "profile", "--space", TINY, "--calibrate", 2, "--out", "t.csv", root=tmp_path)
    assert "--calibrate must be 0 (skip) or at least 3" in line


def test_profile_never_overwrites_a_file_that_is_not_a_table(workdir, tmp_path):
    (workdir / "timings.csv").write_text("arch,latency_ms\n{},1\n")
    line = fails("latency", "profile", "--space", TINY, "--out", "timings.csv", root=tmp_path)
    assert "exists and is not a latency table" in line
    (workdir / "t.csv.partial").write_text("hello\n")
    assert "t.csv.partial is not a latency table or journal" in fails(
        "latency", "profile", "--space", TINY, "--out", "t.csv", root=tmp_path)


def test_profile_space_without_layout_and_bad_emit_settings(workdir, tmp_path):
    line = fails("latency", "profile", "--space", "nas-bench-201", "--out", "t.csv", root=tmp_path)
    assert "nas-bench-201 does not" in line and "ofa-mbv3" in line
    line = fails("latency", "profile", "--space", TINY, "--emit-specs", "s.json", "--runtime", "tensorrt",
                 root=tmp_path)
    assert "unknown runtime 'tensorrt'; known: eager, torchscript" in line


def test_devices_name_what_this_machine_has(monkeypatch):
    monkeypatch.setattr(opbench, "_cuda_devices", lambda: 1)
    assert opbench.check_device("cuda:0") == "cuda:0" and opbench.check_device("cpu") == "cpu"
    with pytest.raises(ValueError, match=r"'cuda:1' is not available here; allowed: cpu, cuda, cuda:0$"):
        opbench.check_device("cuda:1")
    monkeypatch.setattr(opbench, "_cuda_devices", lambda: 0)
    with pytest.raises(ValueError, match=r"'cuda' is not available here; allowed: cpu \(torch here has no CUDA"):
        opbench.check_device("cuda")
    with pytest.raises(InvalidInput, match="unknown device 'gpu'"):
        latency_api.profile(TINY, "t.csv", device="gpu")
    with pytest.raises(InvalidInput, match="--threads must be a whole number >= 0"):
        latency_api.profile(TINY, "t.csv", threads=-1)


def test_a_failed_measurement_leaves_no_journal(tmp_path):
    out = str(tmp_path / "t.csv")
    settings = opbench.run_settings("cpu", "eager", 1, "float32", 1, 0, 1, 0.0)
    spec = dict.fromkeys(opbench.SPEC_FIELDS, 1) | {"key": "k", "kind": "warp", "act": "relu"}
    with pytest.raises(ValueError, match="unknown op kind 'warp'"):
        opbench.profile([spec], out, {}, settings)
    assert _files(tmp_path) == set()
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"format": "nas-op-specs", "metadata": {}, "specs": []}))
    assert opbench.main([str(spec), "--out", out, "--device", "nope"]) == 2 and _files(tmp_path) == {"s.json"}


# ------------------------------------------------------------------------------------------- fit
def test_fit_names_the_real_problem_with_the_measurements(workdir, tmp_path):
    _measurements(workdir / "text.csv", latency_ms=["fast"] * 10)
    line = fails("latency", "fit", "-m", "text.csv", "--out", "f.csv", root=tmp_path)
    assert "row 2: latency 'fast' in column 'latency_ms' is not a positive number" in line
    _measurements(workdir / "other.csv", speed=["fast"] * 10)
    line = fails("latency", "fit", "-m", "other.csv", "--out", "f.csv", root=tmp_path)
    assert "has no numeric latency column (its columns: arch, speed)" in line and "latency_ms" in line
    _measurements(workdir / "empty.csv", n=0, latency_ms=[])
    assert "has no data rows" in fails("latency", "fit", "-m", "empty.csv", "--out", "f.csv", root=tmp_path)
    pd.DataFrame({"a": [1], "b": [2]}).to_csv(workdir / "foreign.csv", index=False)
    assert "lacks arch column 'ks'" in fails("latency", "fit", "-m", "foreign.csv", "--out", "f.csv", root=tmp_path)
    _measurements(workdir / "two.csv", a_ms=np.ones(10), b_ms=np.ones(10))
    assert "several latency columns (a_ms, b_ms)" in fails("latency", "fit", "-m", "two.csv", "--out", "f.csv",
                                                           root=tmp_path)


@pytest.mark.parametrize("args,expected", [
    (["--space", "nas-bench-201"], "); nas-bench-201 does not"),  # after the list of structured spaces
    (["--train", 0], "--train must be a share of the subnets in (0, 1] or a whole number"),
    (["--train", 1.5], "not 1.5"),
    (["--train", 0.1], "--train 0.1 leaves 1 of 10 subnets"),
    (["--seed", -1], "'--seed'"),
    (["--name", "bad name"], "invalid target name 'bad name'"),
    (["--name", "jetson"], "'jetson' is a built-in target"),
    (["--name", "ok", "--out", "f.txt"], "written as .csv or .parquet, not .txt"),
    (["--column", "arch"], "--column 'arch' of m.csv is an arch or index column"),
    ([], "give an output"),
])
def test_fit_rejects_bad_arguments_before_writing(workdir, tmp_path, args, expected):
    _measurements(workdir / "m.csv", latency_ms=np.arange(1.0, 11.0))
    if "--out" not in args and "--name" not in args and args:
        args = [*args, "--out", "f.csv"]
    assert expected in fails("latency", "fit", "-m", "m.csv", *args, root=tmp_path)


# ------------------------------------------------------------------------------------ import-ofa
def test_import_ofa_says_what_is_wrong_with_the_folder(workdir, tmp_path):
    note10 = shared_path("latency", "ofa-note10")
    assert "invalid target name 'bad name'" in fails("latency", "import-ofa", note10, "--name", "bad name",
                                                     "--out", "x.csv", root=tmp_path)
    line = fails("latency", "import-ofa", "missing", "--name", "n", root=tmp_path)
    assert "folder missing does not exist" in line and "{device}__{resolution}_lookup_table.yaml" in line
    line = fails("latency", "import-ofa", note10 / "note10__224_lookup_table.yaml", "--name", "n", root=tmp_path)
    assert "is a file; give the folder" in line
    (workdir / "empty").mkdir()
    assert "holds no once-for-all lookup tables" in fails("latency", "import-ofa", "empty", "--name", "n",
                                                          root=tmp_path)


def test_import_ofa_rejects_bad_entries_and_mixed_devices(workdir, tmp_path):
    (workdir / "bad").mkdir()
    (workdir / "bad" / "note10__224_lookup_table.yaml").write_text(
        "Conv-input:224x224x3-output:112x112x24: {mean: fast}\n")
    assert "has mean='fast'; expected a number of ms >= 0" in fails("latency", "import-ofa", "bad", "--name", "n",
                                                                    root=tmp_path)
    (workdir / "bad" / "pixel1__224_lookup_table.yaml").write_text("x: 1\n")
    assert "several devices (note10, pixel1)" in fails("latency", "import-ofa", "bad", "--name", "n", root=tmp_path)


# -------------------------------------------------------------------------------------- validate
@pytest.mark.parametrize("args,expected", [
    (["--samples", 0], "'--samples'"),
    (["--seed", -1], "'--seed'"),
    (["--plot", "p.txt"], "cannot save a plot as .txt; use one of"),
    (["--space", "nas-bench-201"], "nas-bench-201 does not"),
    (["--target", "nope"], "unknown target 'nope'"),
    (["--target", "macs"], "predicts macs, not latency"),
])
def test_validate_rejects_bad_arguments_before_timing(workdir, tmp_path, args, expected):
    assert expected in fails("latency", "validate", *args, root=tmp_path)


def test_validate_api_checks_before_profiling_the_cpu(workdir, tmp_path):
    with pytest.raises(InvalidInput, match="--samples must be a whole number >= 2"):
        latency_api.validate("cpu", TINY, samples=1)
    with pytest.raises(InvalidInput, match="--seed must be an integer from 0 to"):
        latency_api.validate("cpu", TINY, seed=-1)
    assert _files(tmp_path) == {"work"}


# --------------------------------------------------------------------------------- targets, tables
def test_targets_lists_broken_tables_without_failing(workdir, cache, tiny_space):
    folder = cache / "targets"
    good = synthetic_table(tiny_space, name="other-name", measured_error={"within_10pct": "x"}).save(
        folder / "good.csv")
    (folder / "list.csv").write_text('# nas-latency-table [1, 2]\nkey\n')
    (folder / "junk.parquet").write_text("junk")
    result = runner.invoke(app, ["targets", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["good"]["table"] == str(good) and rows["list"]["kind"] == rows["junk"]["kind"] == "unreadable"
    assert "expected a JSON object" in rows["list"]["problem"]
    result = runner.invoke(app, ["targets"])
    assert result.exit_code == 0 and "Traceback" not in result.output and "unreadable" in result.output


def test_tables_with_bad_metadata_name_the_field(workdir, tmp_path, tiny_space):
    path = synthetic_table(tiny_space).save(workdir / "t.csv")
    lines = path.read_text().split("\n", 1)
    meta = json.loads(lines[0][len("# nas-latency-table "):])
    for field, value, expected in [("fusion", "weird", "fusion='weird'; known: block, layer"),
                                   ("spaces", "ofa-mbv3", "expected a list of space names"),
                                   ("calibration", {"scale": "x"}, "corrupt metadata 'calibration'")]:
        path.write_text("# nas-latency-table " + json.dumps(meta | {field: value}) + "\n" + lines[1])
        assert expected in fails("latency", "validate", "--target", path, "--space", TINY, root=tmp_path)
    (workdir / "dir.csv").mkdir()
    assert "is a folder" in fails("latency", "validate", "--target", "dir.csv", "--space", TINY, root=tmp_path)


def test_every_error_is_a_nas_error(workdir):
    with pytest.raises(NasError):
        latency_api.fit("ofa-mbv3", "m.csv", out="f.csv", train=float("nan"))
    with pytest.raises(NasError):
        latency_api.import_ofa("missing", "n")


# ------------------------------------------------------------------------- hostile files (issue 17)
DEEP = "[" * 100_000 + "]" * 100_000  # Python's parsers recurse once per level: a RecursionError before


def test_deeply_nested_table_metadata_is_one_line(workdir, tmp_path, tiny_space):
    import pyarrow.parquet as pq

    path = synthetic_table(tiny_space).save(workdir / "t.csv")
    path.write_text(f"# nas-latency-table {DEEP}\n" + path.read_text().split("\n", 1)[1])
    line = fails("latency", "validate", "--target", "t.csv", "--space", TINY, root=tmp_path)
    assert "t.csv has corrupt metadata on its first line: it is JSON nested too deeply" in line
    arrow = pq.read_table(synthetic_table(tiny_space).save(workdir / "t.parquet"))
    pq.write_table(arrow.replace_schema_metadata({b"nas-latency-table": DEEP.encode()}), workdir / "t.parquet")
    line = fails("latency", "validate", "--target", "t.parquet", "--space", TINY, root=tmp_path)
    assert "t.parquet has corrupt metadata in its schema: it is JSON nested too deeply" in line


def test_deeply_nested_lookup_table_yaml_is_one_line(workdir, tmp_path):
    (workdir / "lut").mkdir()
    (workdir / "lut" / "note10__224_lookup_table.yaml").write_text(DEEP)
    line = fails("latency", "import-ofa", "lut", "--name", "n", "--out", "n.csv", root=tmp_path)
    assert "note10__224_lookup_table.yaml is YAML nested too deeply to read" in line


@pytest.mark.parametrize("column", ["kernel", "stride"])
def test_csv_and_parquet_tables_without_an_op_column_are_refused_alike(workdir, tmp_path, tiny_space, column):
    import pyarrow.parquet as pq

    csv = synthetic_table(tiny_space).save(workdir / "t.csv")
    first, body = csv.read_text().split("\n", 1)
    with open(csv, "w") as f:
        f.write(first + "\n")
        pd.read_csv(io.StringIO(body)).drop(columns=[column]).to_csv(f, index=False)
    parquet = synthetic_table(tiny_space).save(workdir / "t.parquet")
    pq.write_table(pq.read_table(parquet).drop([column]), parquet)
    for name in ("t.csv", "t.parquet"):
        line = fails("latency", "validate", "--target", name, "--space", TINY, root=tmp_path)
        assert f"{name} is not a latency table: column {column!r} is missing" in line


def test_a_named_pipe_as_table_or_measurements_is_not_a_regular_file(workdir, tmp_path):
    import os

    os.mkfifo(workdir / "pipe.csv")
    line = fails("latency", "validate", "--target", "pipe.csv", "--space", TINY, root=tmp_path)
    assert "latency table pipe.csv is not a regular file: it is a named pipe (FIFO)" in line
    line = fails("latency", "fit", "-m", "pipe.csv", "--out", "f.csv", root=tmp_path)
    assert "measurements file pipe.csv is not a regular file" in line


@pytest.mark.parametrize("option", ["--warmup", "--repeats"])
def test_profile_calls_per_op_are_bounded(workdir, tmp_path, option):
    line = fails("latency", "profile", "--space", TINY, option, 10**12, "--out", "t.csv", root=tmp_path)
    assert f"{option} must be at most {getattr(opbench, 'MAX_' + option[2:].upper())} calls per op" in line


def test_validate_samples_beyond_memory_are_refused_before_timing(workdir, tmp_path, tiny_space):
    synthetic_table(tiny_space).save(workdir / "t.csv")
    line = fails("latency", "validate", "--target", "t.csv", "--space", TINY, "--samples", 10**11, root=tmp_path)
    assert "--samples 100000000000 needs about" in line and "this machine has available" in line


@pytest.mark.parametrize("option", ["warmup", "repeats"])
def test_validate_calls_per_subnet_are_bounded_before_the_target_is_resolved(workdir, tmp_path, option):
    with pytest.raises(InvalidInput, match=f"--{option} must be at most 100000"):
        latency_api.validate("cpu", TINY, **{option: 10**12})  # not after profiling this machine for cpu
    assert _files(tmp_path) == {"work"}
