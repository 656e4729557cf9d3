"""Contract every registered predictor kind passes: learns a known function, ranks held-out subnets,
saves/loads exactly, is deterministic with a seed, and rejects bad input with a clear NasError."""

from __future__ import annotations

import json

import numpy as np
import pytest

from predictors import PREDICTORS, create_predictor, kendall_tau, load_predictor, quality
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


# ------------------------------------------------------------------ declared options: one mechanism for every kind
def _wrong_bound(option) -> float | None:
    """A number just outside the option's declared range (None when it has no bound)."""
    if option.gt is not None:
        return option.gt
    if option.ge is not None:
        return option.ge - 1
    if option.le is not None:
        return option.le + 1
    return None


def test_every_kind_declares_its_options(kind, toy):
    spec = PREDICTORS.get(kind).options
    assert spec is not None, f"predictor kind {kind} must declare its options (Predictor.options)"
    model = create_predictor(kind, toy)
    assert set(model.params) == set(spec)  # defaults filled in, each passing its own check


def test_unknown_option_is_one_line_naming_the_known_ones(kind, toy):
    with pytest.raises(InvalidInput) as info:
        create_predictor(kind, toy, no_such_option=1)
    message = str(info.value)
    assert "\n" not in message and "'no_such_option'" in message and kind in message
    for name in PREDICTORS.get(kind).options:
        assert name in message


def test_wrongly_typed_or_out_of_range_values_are_one_line(kind, toy):
    spec = PREDICTORS.get(kind).options
    for name, option in spec.items():
        bad_values = [{"wrong": "type"}, float("nan") if option.type in (int, float) else None]
        bound = _wrong_bound(option)
        if bound is not None and option.type in (int, float):
            bad_values.append(bound)
        for value in bad_values:
            if value is None and (None in option.also):
                continue
            with pytest.raises(InvalidInput) as info:
                create_predictor(kind, toy, **{name: value})
            message = str(info.value)
            assert "\n" not in message and name in message and "must be" in message, message


@pytest.mark.parametrize("kind_name, params, words", [
    ("svr", {"gamma": "abc"}, ["gamma='abc'", "'scale'"]),
    ("svr", {"C": -1}, ["C=-1", "> 0"]),
    ("gbm", {"subsample": 1.5}, ["subsample=1.5", "<= 1"]),
    ("mlp", {"hidden": 64}, ["hidden=64", "list of integers"]),
    ("mlp", {"skip": 1}, ["skip=1", "true or false"]),
    ("ridge", {"alphas": []}, ["alphas=[]", "non-empty"]),
    ("ensemble", {"members": [{"kind": "svr", "C": 0}]}, ["member 1", "C=0"]),
    ("ensemble", {"members": ["svr", "forest"]}, ["member 2", "ridge"]),
    ("ensemble", {"members": [{"kind": "ridge", "features": "ordinal"}]}, ["member 1", "'features'"]),
])
def test_option_messages_name_the_value_and_what_is_allowed(toy, kind_name, params, words):
    with pytest.raises(InvalidInput) as info:
        create_predictor(kind_name, toy, **params)
    for word in words:
        assert word in str(info.value)


def test_options_are_normalized_and_survive_a_round_trip(toy_data, tmp_path):
    space, train, y_train, test, _ = toy_data
    model = create_predictor("ensemble", space, members="ridge,svr")
    assert model.params == {"members": [{"kind": "ridge"}, {"kind": "svr"}]}
    mlp = create_predictor("mlp", space, hidden=(8,), epochs=5.0)
    assert mlp.params["hidden"] == [8] and mlp.params["epochs"] == 5 and isinstance(mlp.params["epochs"], int)
    model.fit(train, y_train).save(tmp_path / "e")
    np.testing.assert_array_equal(load_predictor(tmp_path / "e", space).predict(test), model.predict(test))


def test_a_saved_file_with_bad_options_names_the_file(toy_data, tmp_path):
    space, train, y_train, _, _ = toy_data
    path = create_predictor("svr", space).fit(train, y_train).save(tmp_path / "p")
    header = json.loads(path.read_text())
    header["params"]["C"] = "ten"
    path.write_text(json.dumps(header))
    with pytest.raises(InvalidInput, match=r"p\.json: invalid svr option C='ten'"):
        load_predictor(path, space)


@pytest.mark.parametrize("seed", [-1, 2**31, 1.5, True])
def test_bad_seeds_are_refused(toy_data, seed):
    space, train, y_train, _, _ = toy_data
    with pytest.raises(InvalidInput, match="seed must be an integer"):
        create_predictor("ridge", space).fit(train, y_train, seed=seed)


def test_metrics_leave_out_what_the_data_does_not_define():
    few = quality([70.0, 71.0, 72.0], [70.5, 70.9, 72.2])
    assert "top10pct_precision" not in few and few["n"] == 3 and few["kendall_tau"] == 1.0
    assert "at least 10 subnets" in few["undefined"]["top10pct_precision"]
    flat = quality([70.0] * 12, np.arange(12.0))
    assert "kendall_tau" not in flat and "equal" in flat["undefined"]["kendall_tau"] and "rmse" in flat
    full = quality(np.arange(20.0), np.arange(20.0))
    assert full["top10pct_precision"] == 1.0 and "undefined" not in full
    with pytest.raises(InvalidInput, match="at least 2 measured subnets; got 1"):
        quality([1.0], [1.0])
