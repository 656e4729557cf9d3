"""The shipped ofa-mbv3 ImageNet predictor: provenance, held-out quality on the real data, search default;
and the once-for-all import against once-for-all's own code on its released predictor."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from nas.search.assemble import build_problem
from predictors import create_predictor, kendall_tau, rmse
from predictors.data import read_subnets
from predictors.ofa_import import import_ofa_predictor
from predictors.shipped import ARTIFACTS, resolve_predictor, shipped_predictor, shipped_predictors
from predictors.validation import fold_ids
from search_spaces import get_space
from tests.conftest import shared_path
from tests.supernets.ofa_reference import import_reference

NAME = "ofa-mbv3-imagenet-top1"


@pytest.fixture(scope="module")
def shipped():
    return resolve_predictor(NAME)


def test_artifact_is_small_and_pickle_free(shipped):
    npz = ARTIFACTS / f"{NAME}.npz"
    assert npz.stat().st_size < 1_000_000
    with np.load(npz, allow_pickle=False) as arrays:  # raises if anything needed pickle
        assert all(arrays[k].dtype != object for k in arrays.files)
    assert shipped.space.name == "ofa-mbv3[r=224]"
    assert [info["name"] for info in shipped_predictors()].count(NAME) == 1


def test_metadata_records_provenance_and_cv(shipped):
    meta = shipped.metadata
    assert meta["target"] == "ImageNet top-1 (%)"
    assert meta["fit_command"].startswith("python scripts/fit_shipped_predictor.py")
    assert meta["date"] and meta["software"]["numpy"]
    assert len(meta["source"]["files"]) == 4 and meta["source"]["unique_archs"] > 1500
    cv = meta["cv"]
    assert cv["folds"] == 5 and cv["grouped"] and cv["kendall_tau"] >= 0.95 and cv["rmse"] <= 0.15
    nested = meta["selection"]["nested_cv"]
    assert nested["kendall_tau"] >= 0.95 and nested["rmse"] <= 0.15


def test_search_uses_it_by_default_and_narrows_to_r224(shipped):
    assert shipped_predictor(get_space("ofa-mbv3")).kind == shipped.kind
    problem = build_problem("ofa-mbv3", "macs")
    assert problem.space.name == "ofa-mbv3[r=224]" and problem.predictor_ref == "shipped"
    assert "Kendall tau" in problem.sources["accuracy"]
    genomes = problem.space.sample(2000, np.random.default_rng(0))
    top1 = shipped.predict(genomes)
    assert np.all((top1 > 60) & (top1 < 85))
    macs = problem.space.count(genomes)["macs"]
    assert kendall_tau(macs, top1) > 0.5  # bigger subnets predicted better, as measured


def test_provenance_hashes_match_the_shared_data(shipped):
    root = shared_path("accuracy", "ofa-mbv3-w1.0-imagenet").parents[1]
    for entry in shipped.metadata["source"]["files"]:
        digest = hashlib.sha256((root / entry["file"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"], entry["file"]


def test_held_out_quality_on_real_data(shipped):
    """Refit the shipped configuration on 4/5 of the archs (grouped); the held-out fifth meets the goal."""
    paths = sorted(shared_path("accuracy", "ofa-mbv3-w1.0-imagenet").glob("*.csv"))
    data = read_subnets(paths, "ofa-mbv3").deduplicate()
    assert data.space.name == shipped.space.name
    test = fold_ids(data.groups, 5, 123) == 0
    model = create_predictor(shipped.kind, data.space, features=shipped.features, derived=shipped.derived,
                             **shipped.params).fit(data.genomes[~test], data.y[~test])
    predicted = model.predict(data.genomes[test])
    assert kendall_tau(data.y[test], predicted) >= 0.95
    assert rmse(data.y[test], predicted) <= 0.1
    macs = data.space.count(data.genomes[test])["macs"]
    assert kendall_tau(data.y[test], predicted) > kendall_tau(data.y[test], macs) + 0.05


def _ofa_tutorial_predictor():
    """once-for-all's AccuracyPredictor class, loaded from its file (the package's __init__ pulls in datasets)."""
    if import_reference() is None:  # also installs the torchvision stub once-for-all needs to import
        pytest.skip("once-for-all reference package not installed")
    import ofa

    file = Path(ofa.__file__).parent / "tutorial" / "accuracy_predictor.py"
    spec = importlib.util.spec_from_file_location("_ofa_accuracy_predictor", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.AccuracyPredictor


def test_import_ofa_reproduces_once_for_all_outputs():
    pth = shared_path("accuracy", "ofa-predictor", "acc_predictor.pth")
    reference_cls = _ofa_tutorial_predictor()
    reference = reference_cls(pretrained=False, device="cpu")
    reference.model.load_state_dict(torch.load(pth, map_location="cpu", weights_only=True))
    reference.model.eval()
    ours = import_ofa_predictor(pth, "ofa-mbv3-w1.2")
    space = ours.space
    genomes = space.sample(400, np.random.default_rng(0))
    population = [{**arch, "r": [arch["r"]]} for arch in space.decode_many(genomes)]
    expected = reference.predict_accuracy(population)[:, 0].double().numpy() * 100
    np.testing.assert_allclose(ours.predict(genomes), expected, atol=2e-4)
    # resolution-aware: the same blocks at other resolutions get the reference's per-resolution outputs
    resolutions = np.array([arch["r"][0] for arch in population])
    assert len(np.unique(resolutions)) > 3 and ours.metadata["conversion"]["max_abs_diff_vs_torch"] < 1e-3


def test_import_ofa_resnet50_equals_once_for_all_predictor():
    """The 82-input ResNet50 predictor (fixed base accuracy folded in) against once-for-all's own
    AccuracyPredictor + ResNetArchEncoder on 512 random subnets."""
    pth = shared_path("accuracy", "ofa-predictor", "ofa_resnet50_acc_predictor.pth")
    if import_reference() is None:
        pytest.skip("once-for-all reference package not installed")
    from ofa.nas.accuracy_predictor import AccuracyPredictor, ResNetArchEncoder

    encoder = ResNetArchEncoder(image_size_list=[128, 144, 160, 176, 192, 224, 240, 256], depth_list=[0, 1, 2],
                                expand_list=[0.2, 0.25, 0.35], width_mult_list=[0.65, 0.8, 1.0],
                                base_depth_list=[2, 2, 4, 2])
    reference = AccuracyPredictor(encoder, 400, 3, checkpoint_path=str(pth), device="cpu")
    ours = import_ofa_predictor(pth, "ofa-resnet50")
    space = ours.space
    assert space.name == "ofa-resnet50[r=128/144/160/176/192/224]"  # the encoder has no bucket for 208
    genomes = space.canonical(space.sample(512, np.random.default_rng(0)))  # once-for-all samples d[0] in {0, 2}
    archs = [{**a, "image_size": a["r"]} for a in space.decode_many(genomes)]
    np.testing.assert_array_equal(space.features(genomes, "ofa"), [encoder.arch2feature(a) for a in archs])
    with torch.no_grad():
        expected = reference.predict_acc(archs).double().numpy() * 100
    np.testing.assert_allclose(ours.predict(genomes), expected, atol=1e-4)
    assert 75 < expected.mean() < 82 and ours.metadata["trained_for"] == space.name
