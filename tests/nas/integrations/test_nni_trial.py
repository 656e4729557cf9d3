"""NNI trials score the subnets NNI's tuners propose, with the engine's predictor, target and constraints."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from typer.testing import CliRunner

from nas.cli import app
from nas.integrations import nni_trial
from nas.integrations.nni_space import genomes_from_nni, nni_search_space

SPACE = "ofa-mbv3[r=224]"


@pytest.fixture(scope="module")
def problem():
    return nni_trial.trial_problem(SPACE, "jetson", ["latency<=2.4ms"])


def test_tpe_tuner_drives_the_trial(problem):
    """NNI's own TPE tuner proposes from the exported space; every proposal scores as `nas search` scores it."""
    tpe = pytest.importorskip("nni.algorithms.hpo.tpe_tuner")
    logging.getLogger("nni").setLevel(logging.WARNING)
    tuner = tpe.TpeTuner(optimize_mode="maximize", seed=0)
    tuner.update_search_space(nni_search_space(problem.space))
    proposals, results = [], []
    for trial in range(30):
        params = tuner.generate_parameters(trial)
        result = nni_trial.score_sample(problem, params)
        tuner.receive_trial_result(trial, params, result)
        proposals.append(params)
        results.append(result)
    genomes = genomes_from_nni(problem.space, proposals)
    assert [r["arch_id"] for r in results] == problem.space.arch_ids(genomes)
    latency = np.array([r["latency"] for r in results])
    feasible = np.array([r["feasible"] for r in results])
    np.testing.assert_array_equal(feasible, latency <= 2.4)
    assert feasible.any() and not feasible.all()
    default = np.array([r["default"] for r in results])
    accuracy = np.array([r["accuracy"] for r in results])
    np.testing.assert_array_equal(default, np.where(feasible, accuracy, 0.0))
    assert ((accuracy > 60) & (accuracy < 85)).all()  # predicted ImageNet top-1 of OFA-MBv3 subnets
    json.dumps(results)  # NNI serializes the final result


def test_trial_main_reports_through_nni(problem, monkeypatch):
    nni = pytest.importorskip("nni")
    space = problem.space
    genome = space.sample(1, np.random.default_rng(0))
    doc = nni_search_space(space)
    sample = {n: doc[n]["_value"][i] for n, i in zip(space.gene_names, genome[0])}
    reported = []
    monkeypatch.setattr(nni, "get_next_parameter", lambda: sample)
    monkeypatch.setattr(nni, "report_final_result", reported.append)
    result = CliRunner().invoke(app, ["nni-trial", "--space", SPACE, "--target", "jetson", "-c", "latency<=2.4ms"])
    assert result.exit_code == 0, result.output
    assert reported == [nni_trial.score_sample(problem, sample)]
    assert reported[0]["arch_id"] == space.arch_ids(genome)[0]


def test_trial_without_parameters_says_how_to_run_it(monkeypatch):
    nni = pytest.importorskip("nni")
    monkeypatch.setattr(nni, "get_next_parameter", lambda: None)
    result = CliRunner().invoke(app, ["nni-trial", "--space", SPACE])
    assert result.exit_code == 2
    assert "error: NNI gave this trial no parameters: run it from an NNI experiment" in result.output


def test_cli_writes_the_space_and_names_the_trial_command(tmp_path):
    out = tmp_path / "search_space.json"
    result = CliRunner().invoke(app, ["nni-space", "--space", "ofa-mbv3", "--target", "jetson",
                                      "-c", "latency<=20ms", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert len(doc) == 45 and doc["e[0]"]["_value"] == [3, 4, 6]  # resolution fixed by the shipped predictor
    assert "nas nni-trial --space 'ofa-mbv3[r=224]' --target jetson" in " ".join(result.output.split())


def test_cli_refuses_a_space_without_accuracy(tmp_path):
    result = CliRunner().invoke(app, ["nni-space", "--space", "ofa-mbv3-cifar", "--out", str(tmp_path / "s.json")])
    assert result.exit_code == 2
    assert not (tmp_path / "s.json").exists()
