"""`nas targets` and `nas latency profile|fit|import-ofa|validate`, and searching with their tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from nas.cli import app
from search_spaces import get_space

from ...conftest import shared_path
from .conftest import TINY, synthetic_table

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_targets_lists_provenance(cache):
    result = invoke("targets", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["jetson-orin-nano"]["aliases"] == ["jetson"] and rows["jetson-orin-nano"]["kind"] == "modeled"
    assert rows["cpu"]["status"].startswith("not profiled yet") and rows["macs"]["kind"] == "analytic"
    assert invoke("targets").exit_code == 0


def test_profile_validate_and_search_with_the_table(tmp_path, cache):
    table = tmp_path / "t.csv"
    result = invoke("latency", "profile", "--space", TINY, "--out", table, "--warmup", 0, "--repeats", 2,
                    "--flush-mb", 0, "--calibrate", 3, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["ops"] == 16 and info["measured_now"] == 16 and info["calibration"]["subnets"] == 3
    result = invoke("latency", "validate", "--target", table, "--space", TINY, "--samples", 3,
                    "--plot", tmp_path / "v.png", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == 3 and 0 <= report["within_10pct"] <= 1 and (tmp_path / "v.png").stat().st_size > 0
    assert json.loads(table.read_text().splitlines()[0][len("# nas-latency-table "):])["measured_error"]["samples"] == 3
    result = invoke("latency", "profile", "--space", TINY, "--emit-specs", tmp_path / "s.json")
    assert result.exit_code == 0 and "opbench.py" in result.output and TINY in result.output


def test_latency_commands_work_for_a_second_family(tmp_path, cache):
    """profile, validate and fit on OFA-ResNet50 through the structure contract alone (no ResNet code in
    nas/hardware): a one-resolution, one-width restriction keeps it to seconds."""
    space = "ofa-resnet50[e=0.2,w=0,r=128]"
    table = tmp_path / "rn.csv"
    result = invoke("latency", "profile", "--space", space, "--out", table, "--warmup", 0, "--repeats", 2,
                    "--flush-mb", 0, "--calibrate", 3, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ops"] == len(get_space(space).structure().unique_ops())
    result = invoke("latency", "validate", "--target", table, "--space", space, "--samples", 3, "--json")
    assert result.exit_code == 0, result.output
    sub = get_space(space)
    g = sub.sample(30, np.random.default_rng(0))
    archs = sub.decode_many(g)
    pd.DataFrame({"arch": [json.dumps(a) for a in archs], "latency_ms": sub.count(g)["macs"] / 1e8 + 1.0}).to_csv(
        tmp_path / "m.csv", index=False)
    result = invoke("latency", "fit", "--space", space, "--measurements", tmp_path / "m.csv", "--out",
                    tmp_path / "fit.csv", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["held_out"]["within_10pct"] > 0.8
    result = invoke("search", "--space", "ofa-resnet50", "--target", "jetson", "--objective", "latency",
                    "--objective", "params", "--searcher", "random", "--budget", 100, "--out", tmp_path / "run",
                    "--json")
    assert result.exit_code == 0, result.output


def test_search_with_a_table_file_reports_latency(tmp_path, cache):
    space = get_space("ofa-mbv3")
    path = synthetic_table(space).save(tmp_path / "dev.csv")
    result = invoke("search", "--space", "ofa-mbv3", "--target", path, "--objective", "latency", "--searcher",
                    "random", "--budget", 200, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    assert "latency" in json.loads(result.stdout)["best"]["values"]


def test_fit_cli(tmp_path, cache, rng):
    space = get_space("ofa-mbv3")
    g = space.sample(60, rng)
    archs = space.decode_many(g)
    pd.DataFrame({"arch": [json.dumps(a) for a in archs], "latency_ms": space.count(g)["macs"] / 1e8 + 1.0}).to_csv(
        tmp_path / "m.csv", index=False)
    result = invoke("latency", "fit", "--measurements", tmp_path / "m.csv", "--out", tmp_path / "f.csv",
                    "--train", 40, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["held_out"]["n"] == 20


def test_import_ofa_then_search_note10(tmp_path, cache):
    folder = shared_path("latency", "ofa-note10")
    result = invoke("latency", "import-ofa", folder, "--name", "note10")
    assert result.exit_code == 0, result.output
    assert "ofa-mbv3-w1.2[r=160/176/192/208/224]" in result.output
    result = invoke("search", "--space", "ofa-mbv3-w1.2[r=160/176/192/208/224]", "--target", "note10",
                    "--objective", "latency", "--searcher", "random", "--budget", 100, "--out", tmp_path / "r",
                    "--json")
    assert result.exit_code == 0, result.output
    # the full space: restricted to what the table covers, and the run says so
    result = invoke("search", "--space", "ofa-mbv3-w1.2", "--target", "note10", "--objective", "latency",
                    "--searcher", "random", "--budget", 50, "--out", tmp_path / "r2", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["space"] == "ofa-mbv3-w1.2[r=160/176/192/208/224]"
    assert any("target note10 covers only that part of ofa-mbv3-w1.2" in n for n in summary["notes"])
    config = json.loads((tmp_path / "r2" / "config.json").read_text())
    assert config["restrictions"] == {"user": "ofa-mbv3-w1.2", "target": "ofa-mbv3-w1.2[r=160/176/192/208/224]"}


def test_user_mistakes_are_one_line(tmp_path, cache):
    for args, message in [
        (("latency", "validate", "--target", "nope", "--samples", 2), "error: unknown target 'nope'"),
        (("latency", "profile", "--space", TINY, "--device", "cpu", "--batch", "2"), "--out is required"),
        (("latency", "import-ofa", tmp_path, "--name", "x"), "no once-for-all lookup tables"),
    ]:
        result = invoke(*args)
        assert result.exit_code == 2 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1
    (tmp_path / "broken.csv").write_text("# nas-latency-table {}\nkey,latency_ms,spread_ms,count\n")
    result = invoke("search", "--space", "ofa-mbv3", "--target", tmp_path / "broken.csv", "--objective", "latency")
    assert result.exit_code == 2 and "is not a latency table" in result.output  # columns are checked first
    assert len(result.output.strip().splitlines()) == 1


def test_predictions_are_vectorized_fast_enough(rng):
    """A smoke check of the benchmark's claim: 100k subnets well under a second."""
    import time

    from nas.hardware import get_target

    space = get_space("ofa-mbv3")
    model = get_target("jetson", space)
    g = space.sample(100_000, rng)
    start = time.perf_counter()
    assert np.all(model.predict(g) > 0)
    assert time.perf_counter() - start < 3.0
