"""The analysis API on a small space: rows, totals, files written together, refusals before measuring."""

from __future__ import annotations

import csv
import json
import math

import pytest

from nas import api
from nas.hardware.efficiency import report, runtimes
from nas.hardware.efficiency.report import OUTPUTS
from search_spaces import get_space
from search_spaces.errors import InvalidInput

SPACE = "ofa-mbv3-cifar-small"
FAST = {"warmup": 0, "repeats": 1, "flush_mb": 0, "gemm_n": 32, "copy_mib": 0.25, "peak_repeats": 1}


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def arch(rng):
    space = get_space(SPACE)
    return space.decode(space.sample(1, rng)[0])


def _positive(x) -> bool:
    return math.isfinite(x) and x > 0


def test_rows_and_totals_are_consistent(arch):
    result = api.analyze(SPACE, arch, runtimes=["eager"], **FAST)
    assert result.space == SPACE and len(result.subnets) == 1
    sub = result.subnets[0]
    ops = get_space(SPACE).layers(arch)
    assert [r.label.split(" ")[1] for r in sub.ops] == [op.kind for op in ops]
    assert sub.macs == sum(op.macs for op in ops)
    assert sub.waterline_fused_ms <= sub.waterline_layer_ms
    assert sub.bytes_fused < sub.bytes_layer
    assert _positive(sub.latency_ms["eager"])
    for row in sub.ops + sub.layers:
        assert _positive(row.measured_ms["eager"]) and _positive(row.efficiency("eager"))
        assert row.ideal_fused_ms <= row.ideal_layer_ms + 1e-12
    # every layer kernel of every block has a row, numbered under its block
    blocks = [op for op in ops if op.is_composite]
    assert len(sub.layers) == sum(len(op.layer_ops()) for op in blocks)
    classes = result.summary_by_class("eager")
    assert {"conv1x1", "dwconv"} <= set(classes) and all(_positive(g["efficiency"]) for g in classes.values())
    doc = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert doc["peaks"]["peak_flops"] > 0 and "waterline" in doc["definitions"]


def test_without_layers_only_ops_are_timed(arch):
    sub = api.analyze(SPACE, arch, runtimes=["eager"], layers=False, **FAST).subnets[0]
    assert sub.layers == [] and len(sub.ops) == len(get_space(SPACE).layers(arch))


def test_a_registered_runtime_is_timed_too(arch, monkeypatch):
    monkeypatch.setitem(runtimes.RUNTIMES, "eager-again", runtimes.Runtime("eager-again", lambda m, x: m.eval()))
    sub = api.analyze(SPACE, arch, runtimes=["eager", "eager-again"], layers=False, **FAST).subnets[0]
    assert set(sub.latency_ms) == {"eager", "eager-again"}


def _fake_run(path, archs):
    """The files of a finished search run that the analysis reads: config, best subnet, front."""
    path.mkdir()
    (path / "config.json").write_text(json.dumps({"space": SPACE}))
    (path / "best.json").write_text(json.dumps({"best": {"arch": archs[0]}}))
    with open(path / "pareto.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["arch_id", "config"])
        writer.writerows([["x", json.dumps(a)] for a in archs])


def test_a_runs_best_or_top_front_subnets(tmp_path, rng):
    space = get_space(SPACE)
    archs = space.decode_many(space.sample(3, rng))
    _fake_run(tmp_path / "run", archs)
    best = api.analyze(run=tmp_path / "run", runtimes=["eager"], layers=False, **FAST)
    assert [s.arch for s in best.subnets] == [space.validate(archs[0])]
    top = api.analyze(run=tmp_path / "run", top=2, runtimes=["eager"], layers=False, **FAST)
    assert [s.arch_id for s in top.subnets] == [space.arch_id(a) for a in archs[:2]]


def test_outputs_are_written_and_an_earlier_analysis_replaced(tmp_path, arch):
    out = tmp_path / "ana"
    result = api.analyze(SPACE, arch, runtimes=["eager"], layers=False, out=out, **FAST)
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    assert set(result.files) == set(OUTPUTS)
    api.analyze(SPACE, arch, runtimes=["eager"], layers=False, out=out, **FAST)  # its own files: replaced
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)


def test_a_failure_while_writing_leaves_nothing(tmp_path, arch, monkeypatch):
    def broken(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(report, "kernels_csv", broken)  # after analysis.json was rendered
    with pytest.raises(RuntimeError):
        api.analyze(SPACE, arch, runtimes=["eager"], layers=False, out=tmp_path / "new", **FAST)
    assert not (tmp_path / "new").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuntimeError):
        api.analyze(SPACE, arch, runtimes=["eager"], layers=False, out=tmp_path / "empty", **FAST)
    assert list((tmp_path / "empty").iterdir()) == []


@pytest.mark.parametrize("kwargs, message", [
    ({"runtimes": ["tensorrt"]}, "unknown runtime 'tensorrt'"),
    ({"runtimes": []}, "at least one --runtime"),
    ({"batch": 0}, "--batch"),
    ({"repeats": 0}, "--repeats"),
    ({"top": 2}, "--top K picks front subnets"),
    ({"space": None}, "needs --space"),
])
def test_bad_input_is_refused_before_measuring(kwargs, message, arch, tmp_path, monkeypatch):
    monkeypatch.setattr("nas.hardware.efficiency.pipeline.machine_peaks", lambda *a, **k: pytest.fail("measured"))
    args = {"space": SPACE, "arch": arch} | FAST | kwargs
    with pytest.raises(InvalidInput, match=message):
        api.analyze(args.pop("space"), args.pop("arch"), **args)


def test_a_folder_of_other_files_is_refused(tmp_path, arch):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInput, match="is not empty"):
        api.analyze(SPACE, arch, out=tmp_path, **FAST)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
