"""Search with measured accuracy (a trained supernet instead of a predictor) and export with BN calibration,
end to end on a tiny synthetic training run."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from nas import api
from nas.errors import InvalidInput
from nas.evaluate import calibration_batches, recalibrate_bn
from nas.evaluate.objective import measured_accuracy_objective
from nas.results import genomes_from_results
from search_spaces import get_space
from supernets.checkpoint import load_supernet

from .conftest import DATA

MEASURE = {"bn_images": 16}


def test_search_measures_accuracy_with_a_small_default_budget(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(api, "MEASURED_BUDGET", 4)
    result = api.search(target="macs", checkpoint=checkpoint, data=DATA, measure_options=MEASURE,
                        out=tmp_path / "s", seed=1)
    assert result.space == "ofa-mbv3-cifar"  # taken from the checkpoint
    assert result.searcher == "evolution" and len(result.results) == 4  # the benchmark's most sample-efficient
    assert result.sources["accuracy"].startswith("measured: supernet.pt")
    assert any("budget defaults to 4" in note for note in result.notes)
    config = json.loads((tmp_path / "s" / "config.json").read_text())
    assert config["measured"]["options"] == MEASURE and config["predictor"] is None
    assert config["searcher_options"]["population"] == 20
    assert config["searcher_choice"].startswith("expensive objectives: evolution")
    # the recorded accuracies are what an independent measurement of the same subnets gives
    space = get_space("ofa-mbv3-cifar")
    genomes = genomes_from_results(space, result.results)
    again = measured_accuracy_objective(checkpoint, DATA, **MEASURE)(genomes)
    assert np.allclose(result.results["accuracy"].to_numpy(), again)
    assert np.all((again >= 0) & (again <= 100))


def test_measured_search_resumes_to_the_uninterrupted_result(checkpoint, tmp_path):
    kwargs = dict(target="macs", checkpoint=checkpoint, data=DATA, measure_options=MEASURE, budget=6, seed=2,
                  searcher="linas", searcher_options={"inner_evals": 200})
    full = api.search(out=tmp_path / "full", **kwargs)
    api.search(out=tmp_path / "cut", generations=1, **kwargs)
    resumed = api.search(resume=tmp_path / "cut", generations=100)  # the cut run recorded its 1-generation cap
    cols = ["arch_id", "accuracy", "macs"]
    pd.testing.assert_frame_equal(full.results[cols].reset_index(drop=True),
                                  resumed.results[cols].reset_index(drop=True))


def test_measured_search_input_errors(checkpoint, tmp_path):
    with pytest.raises(InvalidInput, match="both --checkpoint"):
        api.search(checkpoint=checkpoint, budget=2)
    with pytest.raises(InvalidInput, match="both --checkpoint"):
        api.search(data=DATA, budget=2)
    with pytest.raises(InvalidInput, match="not both"):
        api.search(checkpoint=checkpoint, data=DATA, predictor="shipped", budget=2)
    with pytest.raises(InvalidInput, match="unknown measurement option"):
        api.search(checkpoint=checkpoint, data=DATA, measure_options={"bn": 3}, budget=2)
    with pytest.raises(Exception, match="ofa-mbv3-cifar"):
        api.search("ofa-mbv3", checkpoint=checkpoint, data=DATA, budget=2)
    with pytest.raises(InvalidInput, match="needs --checkpoint"):
        api.export(tmp_path / "x.pt", space="ofa-mbv3-cifar", arch=get_space("ofa-mbv3-cifar").decode(
            get_space("ofa-mbv3-cifar").sample(1, np.random.default_rng(0))[0]), data=DATA)
    assert not (tmp_path / "x.pt").exists()


def test_export_with_data_recalibrates_bn_as_trained(checkpoint, tmp_path):
    supernet, meta = load_supernet(checkpoint)
    arch = supernet.space.decode(supernet.space.sample(1, np.random.default_rng(7))[0])
    result = api.export(tmp_path / "sub.pt", space="ofa-mbv3-cifar", arch=arch, checkpoint=checkpoint, data=DATA,
                        calibration_images=16)
    assert result.metadata["bn_recalibrated_images"] == 16 and result.metadata["calibration_data"] == DATA
    expected = supernet.extract(arch)
    recalibrate_bn(expected, calibration_batches(DATA, meta=meta, size=arch["r"], n_images=16), 16)
    x = calibration_batches(DATA, meta=meta, size=arch["r"], n_images=4)[0]
    scripted = torch.jit.load(str(result.files["torchscript"]))
    with torch.no_grad():
        assert torch.allclose(scripted(x), expected.eval()(x), atol=1e-5)
        assert not torch.allclose(supernet.extract(arch).eval()(x), scripted(x), atol=1e-5)  # calibration mattered


def test_cli_search_with_measured_accuracy_then_export_calibrated(checkpoint, tmp_path):
    run = tmp_path / "search"
    proc = subprocess.run([sys.executable, "-m", "nas", "search", "--checkpoint", str(checkpoint), "--data", DATA,
                           "--budget", "3", "--bn-images", "16", "--searcher", "linas", "--option", "inner_evals=100",
                           "--out", str(run),
                           "--json"], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["evaluated"] == 3 and out["searcher"] == "linas" and out["sources"]["accuracy"].startswith("measured")
    proc = subprocess.run([sys.executable, "-m", "nas", "export", "--run", str(run), "--checkpoint", str(checkpoint),
                           "--data", DATA, "--calibration-images", "16", "--out", str(tmp_path / "best.pt"), "--json"],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["space"] == "ofa-mbv3-cifar" and info["bn_recalibrated_images"] == 16
    assert info["arch_id"] == out["best"]["arch_id"]
    proc = subprocess.run([sys.executable, "-m", "nas", "search", "--data", DATA, "--budget", "2"],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 2 and "error:" in proc.stderr + proc.stdout
