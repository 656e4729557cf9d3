"""Subnet accuracy, the measured-accuracy objective, predictor datasets and export calibration."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from nas.errors import InvalidInput
from nas.evaluate import (
    EvalSet,
    build_evalset,
    calibration_batches,
    evaluate_archs,
    evaluate_checkpoint,
    recalibrate_bn,
)
from nas.evaluate.objective import measured_accuracy_objective
from nas.results import genomes_from_results
from supernets.checkpoint import load_supernet

from .conftest import DATA


def _archs(space, n=3, seed=0):
    return space.decode_many(space.sample(n, np.random.default_rng(seed)))


def test_accuracy_is_recalibrated_top1_and_leaves_the_supernet_alone(checkpoint):
    supernet, meta = load_supernet(checkpoint)
    evalset = build_evalset(DATA, meta=meta, bn_images=16)
    assert len(evalset.labels) == 12  # the split training held out
    before = {k: v.clone() for k, v in supernet.state_dict().items()}
    arch = _archs(supernet.space, 1)[0]
    got = evaluate_archs(supernet, [arch], evalset, bn_images=16)[0]
    for key, value in supernet.state_dict().items():
        assert torch.equal(value, before[key]), key
    sub = supernet.extract(arch)
    calib, images = evalset.at(arch["r"])
    recalibrate_bn(sub, [calib[:8], calib[8:16]], 16)
    with torch.no_grad():
        expected = (sub.eval()(images).argmax(1) == evalset.labels).float().mean().item() * 100
    assert got == pytest.approx(expected)


def test_measured_objective_caches_and_dedups(checkpoint):
    calls = []
    objective = measured_accuracy_objective(checkpoint, DATA, bn_images=16,
                                            on_measured=lambda k, acc: calls.append(acc))
    assert (objective.name, objective.direction, objective.unit, objective.expensive) == ("accuracy", "max", "%", True)
    space = load_supernet(checkpoint)[0].space
    genomes = space.sample(2, np.random.default_rng(3))
    twin = genomes[:1].copy()
    twin[0, space.gene_slices["ks"].start + 3] = (twin[0, space.gene_slices["ks"].start + 3] + 1) % 3
    twin[0, space.gene_slices["d"]] = 0  # depth 2 everywhere: the changed gene is inactive in both
    first = genomes.copy()
    first[0, space.gene_slices["d"]] = 0
    values = objective(np.concatenate([first, twin]))
    assert len(calls) == 2 and values[0] == values[2]  # the twin is the same network
    again = objective(first)
    assert len(calls) == 2 and np.array_equal(again, values[:2])
    assert np.all((values >= 0) & (values <= 100))


def test_restricted_space_objective(checkpoint):
    objective = measured_accuracy_objective(checkpoint, DATA, space="ofa-mbv3-cifar[r=24]", bn_images=16)
    from search_spaces import get_space

    space = get_space("ofa-mbv3-cifar[r=24]")
    assert objective(space.sample(1, np.random.default_rng(0))).shape == (1,)
    with pytest.raises(Exception, match="ofa-mbv3"):
        measured_accuracy_objective(checkpoint, DATA, space="ofa-mbv3")


def test_predictor_dataset_roundtrip(checkpoint, tmp_path):
    result = evaluate_checkpoint(checkpoint, DATA, sample=3, extremes=True, bn_images=16, out=tmp_path / "ds.csv")
    df = pd.read_csv(result.files["csv"])
    assert len(df) == 5 and {"arch_id", "accuracy", "macs", "params", "genome", "config"} <= set(df.columns)
    from search_spaces import get_space

    space = get_space("ofa-mbv3-cifar")
    genomes = genomes_from_results(space, df)
    assert space.arch_ids(genomes) == list(df["arch_id"])
    assert df["macs"].iloc[0] == space.count(genomes[:1])["macs"][0]  # the largest subnet comes first
    dynast = pd.read_csv(result.files["dynast"])
    assert list(dynast["Top-1 Acc (%)"]) == list(df["accuracy"])
    meta = json.loads(result.files["meta"].read_text())
    assert meta["split"] == "holdout" and meta["subnets"] == 5


def test_bad_evaluation_input(checkpoint, tmp_path):
    with pytest.raises(InvalidInput, match="no test split"):
        build_evalset("synthetic:n_train=40,n_test=0", split="test")
    with pytest.raises(InvalidInput, match="unknown split"):
        build_evalset(DATA, split="validation")
    with pytest.raises(InvalidInput, match="out of range"):
        build_evalset("synthetic:n_train=40,classes=12", n_classes=10)
    with pytest.raises(InvalidInput, match="nothing to evaluate"):
        evaluate_checkpoint(checkpoint, DATA)
    with pytest.raises(InvalidInput, match="--bn-images must be a whole number of images >= 1, got 0"):
        build_evalset(DATA, bn_images=0)
    with pytest.raises(InvalidInput, match="--eval-images must be a whole number of images >= 1, got -1"):
        build_evalset(DATA, eval_images=-1)
    with pytest.raises(InvalidInput, match="is a directory; give the dataset's file name"):
        evaluate_checkpoint(checkpoint, DATA, extremes=True, out=tmp_path)
    with pytest.raises(InvalidInput, match="--sample must be between 0 and 100,000 subnets"):
        evaluate_checkpoint(checkpoint, DATA, sample=10**8)
    with pytest.raises(InvalidInput, match="a predictor dataset is a .csv file"):
        evaluate_checkpoint(checkpoint, DATA, extremes=True, out=tmp_path / "m.txt")
    with pytest.raises(InvalidInput, match="calibration"):
        EvalSet(torch.zeros(0, 3, 32, 32, dtype=torch.uint8), torch.zeros(1, 3, 32, 32, dtype=torch.uint8),
                torch.zeros(1, dtype=torch.int64), [0.5] * 3, [0.2] * 3)


def test_export_of_a_trained_subnet_with_calibration(checkpoint, tmp_path):
    from nas.api import export

    supernet, meta = load_supernet(checkpoint)
    arch = _archs(supernet.space, 1, seed=5)[0]
    batches = calibration_batches(DATA, meta=meta, size=arch["r"], n_images=16, batch_size=8)
    assert [tuple(b.shape) for b in batches] == [(8, 3, arch["r"], arch["r"])] * 2
    result = export(tmp_path / "sub.pt", space="ofa-mbv3-cifar", arch=arch, checkpoint=checkpoint,
                    calibration=batches, calibration_images=16)
    assert result.metadata["bn_recalibrated_images"] == 16 and result.metadata["checkpoint"]
    scripted = torch.jit.load(str(result.files["torchscript"]))
    x = batches[0]
    with torch.no_grad():
        assert scripted(x).shape == (8, 10)


def test_cli_evaluate_json(checkpoint, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nas", "evaluate", "--checkpoint", str(checkpoint), "--data", DATA,
                           "--extremes", "--bn-images", "16", "--threads", "1", "--json",
                           "--out", str(tmp_path / "d.csv")],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert len(out["subnets"]) == 2 and out["files"]["csv"].endswith("d.csv")
