"""Contract every registered predictor kind passes: learns a known function, ranks held-out subnets,
saves/loads exactly, is deterministic with a seed, and rejects bad input with a clear NasError."""

from __future__ import annotations

import json

import numpy as np
import pytest

from predictors import create_predictor, kendall_tau, load_predictor
from search_spaces import get_space
from search_spaces.errors import InvalidArchitecture, InvalidInput, NasError, NotSupported

from .conftest import fast_params


def _fit(kind, space, genomes, y, seed=0):
    return create_predictor(kind, space, **fast_params(kind)).fit(genomes, y, seed=seed)


def test_ranks_held_out_subnets(kind, toy_data):
    space, train, y_train, test, y_test = toy_data
    model = _fit(kind, space, train, y_train)
    pred = model.predict(test)
    assert pred.shape == (len(test),) and pred.dtype == np.float64 and np.all(np.isfinite(pred))
    assert kendall_tau(y_test, pred) >= 0.8


def test_ranks_ofa_subnets_with_derived_features(kind):
    space = get_space("ofa-mbv3[r=224]")
    genomes = space.sample(400, np.random.default_rng(3))
    macs = space.count(genomes)["macs"].astype(float)
    active_ks = np.where(space.active_blocks(genomes), space.values(genomes, "ks"), 0)
    y = 60 + 4 * np.log(macs / 1e8) + 0.05 * active_ks.sum(axis=1)
    model = _fit(kind, space, genomes[:300], y[:300])
    assert model.derived == ("macs", "params")
    assert kendall_tau(y[300:], model.predict(genomes[300:])) >= 0.8


def test_save_load_gives_identical_predictions(kind, toy_data, tmp_path):
    space, train, y_train, test, _ = toy_data
    model = _fit(kind, space, train, y_train)
    model.metadata = {"cv": {"kendall_tau": 0.5, "rmse": 1.0}}
    path = model.save(tmp_path / "p")
    assert path.name == "p.json" and (tmp_path / "p.npz").is_file()
    loaded = load_predictor(tmp_path / "p", space)
    assert loaded.kind == kind and loaded.metadata == model.metadata
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test))
    header = json.loads(path.read_text())
    assert header["space"] == "toy" and header["n_features"] == model.n_features


def test_deterministic_with_a_seed(kind, toy_data):
    space, train, y_train, test, _ = toy_data
    a = _fit(kind, space, train, y_train, seed=7).predict(test)
    b = _fit(kind, space, train, y_train, seed=7).predict(test)
    np.testing.assert_array_equal(a, b)


def test_feature_matrix_api_matches_genome_api(kind, toy_data):
    space, train, y_train, test, _ = toy_data
    model = create_predictor(kind, space, **fast_params(kind))
    model.fit_features(model.featurize(train), y_train, seed=0)
    np.testing.assert_allclose(model.predict_features(model.featurize(test)), model.predict(test), rtol=1e-6)
    with pytest.raises(InvalidInput, match="feature matrix of shape"):
        model.predict_features(np.zeros((3, model.n_features + 1)))


def test_uncertainty_only_where_the_model_has_one(kind, toy_data):
    space, train, y_train, test, _ = toy_data
    model = _fit(kind, space, train, y_train)
    if kind == "ensemble":
        mean, std = model.predict_with_std(test)
        np.testing.assert_allclose(mean, model.predict(test))
        assert std.shape == mean.shape and np.all(std >= 0) and std.max() > 0
    else:
        with pytest.raises(NotSupported):
            model.predict_with_std(test)


def test_bad_input(kind, toy_data):
    space, train, y_train, test, _ = toy_data
    model = create_predictor(kind, space, **fast_params(kind))
    with pytest.raises(InvalidInput, match="not fitted"):
        model.predict(test)
    with pytest.raises(InvalidArchitecture, match="do not fit space toy"):
        model.fit(train[:, :-1], y_train)
    y_nan = y_train.copy()
    y_nan[5] = np.nan
    with pytest.raises(InvalidInput, match="NaN"):
        model.fit(train, y_nan)
    with pytest.raises(InvalidInput, match="labels"):
        model.fit(train, y_train[:-3])
    with pytest.raises(InvalidInput, match="no labels"):
        model.fit(train, None)
    model.fit(train, y_train)
    with pytest.raises(InvalidArchitecture, match=r"expected \[n, 8\]"):
        model.predict(test[:, :5])
    with pytest.raises(InvalidArchitecture, match="out of range"):
        model.predict(test + 5)


def test_file_for_another_space_is_rejected(kind, toy_data, tmp_path):
    space, train, y_train, _, _ = toy_data
    _fit(kind, space, train, y_train).save(tmp_path / "p.json")
    with pytest.raises(InvalidInput, match="fitted for space toy, not ofa-mbv3"):
        load_predictor(tmp_path / "p.json", "ofa-mbv3")


@pytest.mark.parametrize("damage", ["garbage json", "not a predictor", "no npz", "truncated npz", "wrong arrays",
                                    "missing keys", "unknown kind"])
def test_corrupt_files_give_one_clear_error(toy_data, tmp_path, damage):
    space, train, y_train, _, _ = toy_data
    path = create_predictor("ridge", space).fit(train, y_train).save(tmp_path / "p")
    npz = tmp_path / "p.npz"
    header = json.loads(path.read_text())
    if damage == "garbage json":
        path.write_text("{not json")
    elif damage == "not a predictor":
        path.write_text("[1, 2]")
    elif damage == "no npz":
        npz.unlink()
    elif damage == "truncated npz":
        npz.write_bytes(npz.read_bytes()[:40])
    elif damage == "wrong arrays":
        np.savez(npz, coef=np.zeros(3), intercept=0.0)
    elif damage == "missing keys":
        del header["layout"]
        path.write_text(json.dumps(header))
    elif damage == "unknown kind":
        header["kind"] = "no-such-kind"
        path.write_text(json.dumps(header))
    with pytest.raises(NasError) as info:
        load_predictor(path, space)
    assert "\n" not in str(info.value) and str(info.value)


def test_unknown_kind_and_options_are_named():
    with pytest.raises(NasError, match="ridge"):
        create_predictor("forest", "ofa-mbv3")
    with pytest.raises(InvalidInput, match="unknown feature encoding 'bits'"):
        create_predictor("ridge", "ofa-mbv3", features="bits")
    with pytest.raises(InvalidInput, match="unknown derived feature 'latency'"):
        create_predictor("ridge", "ofa-mbv3", derived=("latency",))
    with pytest.raises(InvalidInput, match="needs a 'kind'"):
        create_predictor("ensemble", "ofa-mbv3", members=[{"kind": "ensemble"}])
