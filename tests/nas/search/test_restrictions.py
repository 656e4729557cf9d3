"""The space a search runs on is the user's restriction ∩ what the accuracy source covers ∩ what the target
covers; the run records which restriction came from where, and never widens the user's."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nas.cli import app
from nas.search.assemble import build_problem
from predictors import create_predictor
from search_spaces import get_space
from search_spaces.errors import InvalidArchitecture
from tests.conftest import shared_path

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _predictor(space_name: str, path) -> str:
    space = get_space(space_name)
    genomes = space.sample(40, np.random.default_rng(0))
    model = create_predictor("ridge", space).fit(genomes, 70 + space.count(genomes)["macs"] / 1e8)
    return str(model.save(path))


def test_a_restricted_space_is_not_widened_by_the_predictor(tmp_path):
    """Found by review: a predictor for ofa-mbv3-w1.2 replaced the user's 'ofa-mbv3-w1.2[r=160]'."""
    predictor = _predictor("ofa-mbv3-w1.2", tmp_path / "p")
    result = invoke("search", "--space", "ofa-mbv3-w1.2[r=160]", "--target", "macs", "--predictor", predictor,
                    "--budget", 200, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["space"] == "ofa-mbv3-w1.2[r=160]" and config["restrictions"] == {"user": "ofa-mbv3-w1.2[r=160]"}
    rows = pd.read_csv(tmp_path / "run" / "results.csv")
    assert len(rows) == 200 and set(rows["arch_id"].str.extract(r"r:(\d+)")[0]) == {"160"}


def test_the_predictor_narrows_and_says_so(tmp_path):
    predictor = _predictor("ofa-mbv3[r=192/224]", tmp_path / "p")
    problem = build_problem("ofa-mbv3[r=160/224]", "macs", predictor=predictor)
    assert problem.space.name == "ofa-mbv3[r=224]"
    assert problem.restrictions == {"user": "ofa-mbv3[r=160/224]", "accuracy": "ofa-mbv3[r=192/224]"}
    genomes = problem.space.sample(5, np.random.default_rng(1))
    values = problem.evaluator.metrics["accuracy"](genomes)  # asked in the predictor's own encoding
    assert values.shape == (5,) and np.all(np.isfinite(values))
    with pytest.raises(InvalidArchitecture, match=r"covers r in \{192, 224\}, which ofa-mbv3\[r=160\] excludes"):
        build_problem("ofa-mbv3[r=160]", "macs", predictor=predictor)


@pytest.mark.realdata
def test_note10_with_the_imported_predictor_as_typed(tmp_path, monkeypatch):
    """The issue's session: import once-for-all's Note10 tables and its predictor, then search the user's
    resolutions on Note10 with that predictor."""
    monkeypatch.setenv("NAS_CACHE_DIR", str(tmp_path / "cache"))
    assert invoke("latency", "import-ofa", shared_path("latency", "ofa-note10"), "--name", "note10").exit_code == 0
    pth = shared_path("accuracy", "ofa-predictor", "acc_predictor.pth")
    result = invoke("predictor", "import-ofa", pth, "--space", "ofa-mbv3-w1.2", "--out", tmp_path / "p")
    assert result.exit_code == 0, result.output
    space = "ofa-mbv3-w1.2[r=160/176/192/208/224]"
    result = invoke("search", "--space", space, "--target", "note10", "--predictor", tmp_path / "p.json",
                    "--budget", 300, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["space"] == space
    rows = pd.read_csv(tmp_path / "run" / "results.csv")
    assert rows["latency"].gt(0).all() and rows["accuracy"].between(70, 85).all()
    # the full space: the table covers five resolutions, the predictor all of them; the target narrows it
    result = invoke("search", "--space", "ofa-mbv3-w1.2", "--target", "note10", "--predictor", tmp_path / "p.json",
                    "--budget", 100, "--out", tmp_path / "run2", "--json")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run2" / "config.json").read_text())
    assert config["space"] == space and config["restrictions"]["target"] == space


@pytest.mark.realdata
def test_resnet50_searches_with_once_for_alls_predictor(tmp_path):
    pth = shared_path("accuracy", "ofa-predictor", "ofa_resnet50_acc_predictor.pth")
    result = invoke("predictor", "import-ofa", pth, "--space", "ofa-resnet50", "--out", tmp_path / "rn")
    assert result.exit_code == 0, result.output
    result = invoke("search", "--space", "ofa-resnet50", "--target", "jetson", "--predictor", tmp_path / "rn.json",
                    "--constraint", "latency<=2.5ms", "--budget", 500, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["space"] == "ofa-resnet50[r=128/144/160/176/192/224]"  # the encoder knows no 208
    assert any("accuracy predictor covers only that part of ofa-resnet50" in n for n in summary["notes"])
    best = summary["best"]
    assert best["values"]["latency"] <= 2.5 and 70 < best["values"]["accuracy"] < 85
    result = invoke("export", "--run", tmp_path / "run", "--out", tmp_path / "best.pt", "--json")
    assert result.exit_code == 0, result.output
