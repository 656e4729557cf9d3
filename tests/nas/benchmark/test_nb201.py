"""The NAS-Bench-201 table, the benchmark runner and `nas benchmark nas-bench-201` (synthetic and real data)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from nas.benchmark import NB201Table, resolve_searchers, run_nb201
from nas.benchmark.runner import SLOW_SEARCHERS
from nas.cli import app
from nas.search import SEARCHERS
from search_spaces.errors import InvalidInput, UnknownName
from tests.conftest import shared_path

runner = CliRunner()
FAST = {"linas": {"predictor": "ridge"}}  # the benchmark's default (an ensemble) takes seconds per fit


def test_table_is_indexed_by_cell(synthetic_table):
    table = NB201Table(synthetic_table)
    space = table.space
    genomes = space.all_genomes()[[0, 777, 15624]]
    acc = table.objectives("cifar10", "raspi4")[0](genomes)
    np.testing.assert_allclose(acc, table.accuracy("cifar10")[space.cell_index(genomes)])
    assert table.F("c10", "raspi4").shape == (15625, 2)
    assert table.devices == ["pixel3", "raspi4"]


def test_bad_tables_and_names(synthetic_table, tmp_path):
    table = NB201Table(synthetic_table)
    with pytest.raises(UnknownName, match="known: cifar10, cifar100, ImageNet16-120"):
        table.accuracy("mnist")
    with pytest.raises(UnknownName, match="known: pixel3, raspi4"):
        table.latency("toaster")
    with pytest.raises(InvalidInput, match="not found"):
        NB201Table(tmp_path / "missing.csv")
    short = tmp_path / "short.csv"
    short.write_text("".join(synthetic_table.read_text().splitlines(keepends=True)[:100]))
    with pytest.raises(InvalidInput, match="must list each of the 15625"):
        NB201Table(short)
    (tmp_path / "cols.csv").write_text("arch_str,x\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1\n")
    with pytest.raises(InvalidInput, match="lacks the column"):
        NB201Table(tmp_path / "cols.csv")


def test_runner_scores_every_searcher_with_random_as_baseline(synthetic_table):
    table = NB201Table(synthetic_table)
    res = run_nb201("cifar10", "raspi4", budget=120, seeds=2, table=table, options=FAST)
    # by default every searcher but the Bayesian ones (minutes a run); 'all' names them too
    assert list(res["searchers"])[0] == "random"
    assert set(res["searchers"]) == set(SEARCHERS.names()) - set(SLOW_SEARCHERS) and "nsga2" in res["searchers"]
    assert set(resolve_searchers(["all"])) == set(SEARCHERS.names()) >= set(SLOW_SEARCHERS)
    for s in res["searchers"].values():
        assert len(s["runs"]) == 2 and all(r["evaluated"] == 120 for r in s["runs"])
        assert 0 < s["worst"]["hv_ratio"] <= s["mean"]["hv_ratio"] <= 1
        assert s["worst"]["recall"] <= s["mean"]["recall"]
        assert len(s["curve"]["hv_ratio_mean"]) == len(res["checkpoints"])
    again = run_nb201("cifar10", "raspi4", searchers=["nsga2"], budget=120, seeds=2, table=table)
    assert again["searchers"]["nsga2"]["runs"][1]["hv_ratio"] == res["searchers"]["nsga2"]["runs"][1]["hv_ratio"]


def test_cli_writes_json_and_png(synthetic_table, tmp_path):
    out = tmp_path / "nb.json"
    result = runner.invoke(app, ["benchmark", "nas-bench-201", "--data", str(synthetic_table), "--budget", "60",
                                 "--seeds", "2", "--searcher", "random", "--searcher", "evolution", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "random" in result.output and "(baseline)" in result.output and "evolution" in result.output
    saved = json.loads(out.read_text())
    assert set(saved["searchers"]) == {"random", "evolution"}
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args,message", [
    (["--searcher", "annealing"], "unknown searcher 'annealing'"),
    (["--accuracy", "mnist"], "unknown NAS-Bench-201 dataset 'mnist'"),
    (["--device", "toaster"], "unknown NAS-Bench-201 device 'toaster'"),
    (["--budget", "0"], "--budget"),
    (["--seeds", "0"], "--seeds"),
    (["--option", "population=5"], "must look like searcher.key=value"),
    (["--searcher", "random", "-o", "nsga2.population=50"],
     "option nsga2.population is for searcher 'nsga2', which this benchmark does not run; it runs: random"),
    (["--searcher", "nsga2", "-o", "nsga2.population=abc"], "nsga2 option population must be an integer >= 2"),
    (["--searcher", "evolution", "-o", "evolution.mutation_prob=5"], "mutation_prob must be a number in [0, 1]"),
])
def test_cli_user_mistakes(synthetic_table, args, message):
    result = runner.invoke(app, ["benchmark", "nas-bench-201", "--data", str(synthetic_table), "--seeds", "1", *args])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in result.output, result.output


def test_runner_checks_every_searcher_before_running_any(synthetic_table, monkeypatch):
    import nas.benchmark.runner as runner_module

    ran = []
    monkeypatch.setattr(runner_module, "run_search", lambda *a, **k: ran.append(a) or pytest.fail("ran a search"))
    with pytest.raises(InvalidInput, match="linas option population must be an integer >= 2, got 'x'"):
        run_nb201("cifar10", "raspi4", searchers=["random", "linas"], budget=10, seeds=1,
                  table=NB201Table(synthetic_table), options={"linas": {"population": "x"}})
    with pytest.raises(InvalidInput, match="which this benchmark does not run; it runs: random, evolution"):
        run_nb201("cifar10", "raspi4", searchers=["evolution", "random"], budget=10, seeds=1,
                  table=NB201Table(synthetic_table), options={"optuna": {"population": 5}})
    assert not ran


def test_real_table_has_the_known_optimum():
    table = NB201Table(shared_path("benchmarks", "nas-bench-201", "nb201_accuracy_latency.csv"))
    assert table.accuracy("cifar10").max() == pytest.approx(94.373, abs=1e-3)
    res = run_nb201("cifar10", "raspi4", searchers=["random", "nsga2"], budget=300, seeds=1, table=table)
    assert res["exact_front"]["front_cells"] > 10
    assert res["searchers"]["nsga2"]["mean"]["hv_ratio"] > res["searchers"]["random"]["mean"]["hv_ratio"]


def test_seeds_are_bounded_before_any_search(synthetic_table, tmp_path):
    from nas.benchmark.runner import MAX_SEEDS

    result = runner.invoke(app, ["benchmark", "nas-bench-201", "--data", str(synthetic_table), "--seeds", "100000000",
                                 "--out", str(tmp_path / "b.json")])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert f"--seeds must be at most {MAX_SEEDS}" in lines[0] and not (tmp_path / "b.json").exists()
