"""Pair sets and their parsing, the aggregate over pairs, and `--pairs` in the CLI and the script (synthetic table)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nas.benchmark import PAIR_SETS, NB201Table, aggregate, parse_pairs, run_nb201
from nas.benchmark.aggregate import aggregates, budgets_of, matched
from nas.cli import app
from search_spaces.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()


def _searcher(hv: list[float], recall: list[float], igd: list[float], seconds: float = 1.0, by_budget=None) -> dict:
    runs = [{"seed": i, "evaluated": 100, "hv_ratio": h, "recall": r, "igd_plus": g, "front_found": 0,
             "seconds": seconds} for i, (h, r, g) in enumerate(zip(hv, recall, igd))]
    out = {"options": {}, "runs": runs, "curve": {"hv_ratio_mean": []},
           "mean": {"hv_ratio": float(np.mean(hv)), "recall": float(np.mean(recall)), "igd_plus": float(np.mean(igd))},
           "worst": {"hv_ratio": min(hv), "recall": min(recall), "igd_plus": max(igd)}}
    if by_budget:
        out["by_budget"] = by_budget
    return out


def _pair(dataset: str, device: str, searchers: dict) -> dict:
    return {"dataset": dataset, "device": device, "budget": 100, "baseline": "random", "searchers": searchers}


def test_aggregate_math_on_a_hand_made_result():
    results = [
        _pair("cifar10", "a", {"random": _searcher([0.8, 0.9], [0.0, 0.2], [0.1, 0.3]),
                               "evo": _searcher([0.95, 0.97], [0.4, 0.6], [0.02, 0.04], seconds=2.0)}),
        _pair("cifar100", "b", {"random": _searcher([0.7, 0.7], [0.1, 0.1], [0.2, 0.2]),
                                "evo": _searcher([0.99, 0.91], [0.2, 0.2], [0.01, 0.05], seconds=4.0)}),
    ]
    agg = aggregate(results, 100)
    assert list(agg) == ["random", "evo"]
    evo = agg["evo"]
    assert evo["pairs"] == 2 and evo["seeds"] == [2] and evo["pair_names"] == ["cifar10:a", "cifar100:b"]
    h = evo["hv_ratio"]  # pair means 0.96 and 0.95
    assert h["mean"] == pytest.approx(0.955) and h["std"] == pytest.approx(0.005)
    assert (h["min"], h["max"]) == (pytest.approx(0.95), pytest.approx(0.96))
    assert h["worst_pair"] == "cifar100:b" and h["worst_pair_mean"] == pytest.approx(0.95)
    assert h["worst_run"] == pytest.approx(0.91)
    r = evo["recall"]  # pair means 0.5 and 0.2
    assert r["mean"] == pytest.approx(0.35) and r["worst_pair"] == "cifar100:b" and r["worst_run"] == pytest.approx(0.2)
    g = evo["igd_plus"]  # lower is better: the worst pair and run are the largest
    assert g["mean"] == pytest.approx(0.03) and g["worst_pair_mean"] == pytest.approx(0.03)
    assert g["worst_run"] == pytest.approx(0.05)
    # vs the baseline: (0.96 - 0.85 + 0.95 - 0.7) / 2
    assert evo["hv_ratio_vs_baseline"] == pytest.approx(0.18)
    assert agg["random"]["hv_ratio_vs_baseline"] == pytest.approx(0.0)
    assert evo["seconds_per_run"] == pytest.approx(3.0) and evo["run_budget"] == [100]
    assert aggregate(results, 50) == {}  # nobody was scored at 50 cells


def test_aggregate_uses_by_budget_and_skips_pairs_a_searcher_did_not_run():
    at50 = {"50": {"mean": {"hv_ratio": 0.5, "recall": 0.0, "igd_plus": 0.5}, "worst": {},
                   "runs": [{"hv_ratio": 0.5, "recall": 0.0, "igd_plus": 0.5}]}}
    results = [_pair("cifar10", "a", {"random": _searcher([0.8], [0.1], [0.1], by_budget=at50),
                                      "bo": _searcher([0.9], [0.2], [0.05])}),
               _pair("cifar10", "b", {"random": _searcher([0.6], [0.1], [0.1], by_budget=at50)})]
    assert budgets_of(results) == [50, 100]
    assert aggregate(results, 50)["random"]["hv_ratio"]["mean"] == pytest.approx(0.5)
    agg = aggregate(results, 100)
    assert agg["random"]["pairs"] == 2 and agg["bo"]["pairs"] == 1 and agg["bo"]["pair_names"] == ["cifar10:a"]
    assert agg["bo"]["hv_ratio_vs_baseline"] == pytest.approx(0.1)


def test_pair_sets_and_parsing(synthetic_table):
    broad = PAIR_SETS["broad"]
    assert len(broad) >= 12 and not set(broad) & set(PAIR_SETS["tuned"])
    assert {d for d, _ in broad} == {"cifar10", "cifar100", "ImageNet16-120"}
    assert parse_pairs("broad") == broad
    assert parse_pairs(["tuned", "cifar10:raspi4"]) == PAIR_SETS["tuned"]  # each pair once
    table = NB201Table(synthetic_table)
    assert parse_pairs(["c10:raspi4", "in16:pixel3,c100:pixel3"], table) == [
        ("cifar10", "raspi4"), ("ImageNet16-120", "pixel3"), ("cifar100", "pixel3")]
    for bad, why in [("mnist:raspi4", "unknown dataset 'mnist'"), ("cifar10:toaster", "unknown device 'toaster'"),
                     ("cifar10", "not a set name nor dataset:device"), ("wide", "not a set name")]:
        with pytest.raises(InvalidInput, match=why) as err:
            parse_pairs([bad], table)
        assert "cifar10, cifar100, ImageNet16-120" in str(err.value) and "pixel3, raspi4" in str(err.value)
        assert "tuned, broad" in str(err.value)


def test_score_at_equals_a_shorter_run(synthetic_table):
    table = NB201Table(synthetic_table)
    long = run_nb201("cifar10", "raspi4", searchers=["evolution"], budget=90, seeds=2, table=table, score_at=[40])
    short = run_nb201("cifar10", "raspi4", searchers=["evolution"], budget=40, seeds=2, table=table)
    at = long["searchers"]["evolution"]["by_budget"]
    assert set(at) == {"40", "90"} and 40 in long["checkpoints"]
    assert [r["hv_ratio"] for r in at["40"]["runs"]] == [r["hv_ratio"] for r in short["searchers"]["evolution"]["runs"]]


def test_cli_pairs_write_the_aggregate(synthetic_table, tmp_path):
    out = tmp_path / "broad.json"
    result = runner.invoke(app, ["benchmark", "nas-bench-201", "--data", str(synthetic_table), "--pairs", "c10:raspi4",
                                 "--pairs", "c100:pixel3", "--budget", "60", "--score-at", "30", "--seeds", "2",
                                 "--searcher", "random", "--searcher", "evolution", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "over 2 pairs at 30 unique cells" in " ".join(result.output.split())
    saved = json.loads(out.read_text())
    assert [(r["dataset"], r["device"]) for r in saved["results"]] == [("cifar10", "raspi4"), ("cifar100", "pixel3")]
    assert set(saved["aggregate"]) == {"30", "60"} and saved["aggregate"]["60"]["evolution"]["pairs"] == 2
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("pair", ["mnist:raspi4", "cifar10:toaster", "nowhere"])
def test_cli_bad_pair_is_one_line_exit_2(synthetic_table, pair):
    result = runner.invoke(app, ["benchmark", "nas-bench-201", "--data", str(synthetic_table), "--pairs", pair])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bad pair")
    assert "cifar10, cifar100, ImageNet16-120" in lines[0] and "pixel3, raspi4" in lines[0]


def test_script_bad_pair_is_one_line_exit_2(synthetic_table, tmp_path, monkeypatch, capsys):
    shared = tmp_path / "shared"
    (shared / "benchmarks" / "nas-bench-201").mkdir(parents=True)
    (shared / "benchmarks" / "nas-bench-201" / "nb201_accuracy_latency.csv").symlink_to(synthetic_table)
    spec = importlib.util.spec_from_file_location("nas_bench_201_script", ROOT / "benchmarks" / "nas_bench_201.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setenv("NAS_SHARED_DATA", str(shared))
    monkeypatch.setattr(sys, "argv", ["nas_bench_201.py", "--pairs", "broad", "--out", str(tmp_path / "x.json")])
    with pytest.raises(SystemExit) as exit_:
        script.main()
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "needs device '1080ti_1'" in lines[0] and "pixel3, raspi4" in lines[0]



def test_matched_compares_a_searcher_run_on_fewer_pairs_on_just_those():
    results = [_pair("cifar10", "a", {"random": _searcher([0.8], [0.1], [0.1]), "bo": _searcher([0.9], [0.2], [0.05])}),
               _pair("cifar10", "b", {"random": _searcher([0.6], [0.1], [0.1])})]
    got = matched(results, 100)
    assert list(got) == ["bo"] and got["bo"]["pairs"] == ["cifar10:a"]
    assert got["bo"]["aggregate"]["random"]["hv_ratio"]["mean"] == pytest.approx(0.8)


def test_aggregates_keep_the_tuned_pairs_apart():
    results = [_pair("cifar10", "a", {"random": _searcher([0.8], [0.1], [0.1])}),
               {**_pair("cifar10", "raspi4", {"random": _searcher([0.6], [0.1], [0.1])}), "tuned_pair": True}]
    got = aggregates(results)
    assert got["aggregate"]["100"]["random"]["pair_names"] == ["cifar10:a"]
    assert got["aggregate_tuned"]["100"]["random"]["pair_names"] == ["cifar10:raspi4"]
    assert "aggregate_tuned" not in aggregates(results[:1])
