"""The run directory: rows round trip, torn and damaged files, summaries a finished search writes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nas import api
from nas.errors import RunDirectoryError
from nas.results import RunDirectory
from nas.results.tables import genomes_from_results, pareto_table, results_rows
from search_spaces import get_space

CHEAP = dict(space="ofa-mbv3", target="macs", objectives=["macs", "params"], predictor="none", budget=60,
             searcher="evolution", searcher_options={"population": 20})


def test_rows_round_trip_through_the_csv(tmp_path):
    space = get_space("ofa-mbv3")
    genomes = space.canonical(space.sample(30, np.random.default_rng(0)))
    values = {"macs": np.arange(30, dtype=float) * 1e6, "params": np.full(30, 5e6)}
    df = results_rows(space, genomes, values, 2, np.ones(30, dtype=bool))
    run = RunDirectory.create(tmp_path / "run", {"space": space.name})
    run.append_results(df)
    back = run.read_results()
    np.testing.assert_array_equal(genomes_from_results(space, back), genomes)
    np.testing.assert_allclose(back["macs"], values["macs"])
    assert (back["generation"] == 2).all() and len(back["arch_id"].unique()) == 30


def test_truncate_drops_a_torn_generation_and_refuses_missing_rows(tmp_path):
    run = RunDirectory.create(tmp_path / "run", {})
    run.append_lines("1,a\n2,b\n3,c\n", "n,x\n")
    with open(run.file(run.RESULTS), "a") as f:
        f.write("4,d")  # a row torn by a kill mid-write
    before = run.file(run.RESULTS).read_bytes()
    assert run.results_prefix(2)["n"].tolist() == [1, 2]
    assert run.file(run.RESULTS).read_bytes() == before  # reading never cuts: a failed resume loses nothing
    run.truncate_results(2)
    assert run.read_results()["n"].tolist() == [1, 2]
    for bad in (5, -1):
        with pytest.raises(RunDirectoryError, match="the run directory is damaged"):
            run.results_prefix(bad)


@pytest.mark.parametrize("state", [[], {}, {"rows": "abc", "generation": 1, "searcher": {}},
                                   {"rows": -5, "generation": 1, "searcher": {}}, {"rows": 3, "generation": 1}])
def test_malformed_state_is_refused(tmp_path, state):
    run = RunDirectory.create(tmp_path / "run", {})
    run.file(run.STATE).write_text(json.dumps(state))
    with pytest.raises(RunDirectoryError, match="is damaged"):
        run.load_state()


def test_create_refuses_a_directory_with_another_runs_results(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.csv").write_text("n\n1\n")
    with pytest.raises(RunDirectoryError, match="holds results.csv of another run"):
        RunDirectory.create(tmp_path / "run", {})


def test_corrupt_state_and_foreign_genomes(tmp_path):
    run = RunDirectory.create(tmp_path / "run", {})
    run.file(run.STATE).write_text("{not json")
    with pytest.raises(RunDirectoryError, match="is corrupt"):
        run.load_state()
    df = pd.DataFrame({"genome": ["0 1 2"]})
    with pytest.raises(RunDirectoryError, match="do not fit space ofa-mbv3"):
        genomes_from_results(get_space("ofa-mbv3"), df)


def test_finished_search_writes_every_file(tmp_path):
    result = api.search(**CHEAP, out=tmp_path / "run")
    run = tmp_path / "run"
    for name in ("config.json", "results.csv", "state.json", "best.json", "pareto.csv", "pareto.png",
                 "results_dynast.csv"):
        assert (run / name).is_file(), name
    df = pd.read_csv(run / "results.csv")
    assert len(df) == 60 and {"arch_id", "config", "macs", "params", "generation", "feasible"} <= set(df.columns)
    front = pareto_table(df, [("macs", "min"), ("params", "min")])
    assert sorted(front["arch_id"]) == sorted(pd.read_csv(run / "pareto.csv")["arch_id"])
    assert len(front) == len(result.pareto)
    dynast = pd.read_csv(run / "results_dynast.csv")
    assert {"Sub-network", "Date"} <= set(dynast.columns) and len(dynast) == 60
    best = json.loads((run / "best.json").read_text())
    assert best["best"]["values"]["macs"] == df["macs"].min()
    assert api.load_run(run)["best"]["best"]["arch_id"] == best["best"]["arch_id"]
