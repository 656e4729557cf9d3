"""A saved predictor whose arrays hold NaN/inf, non-numbers or the wrong shapes is refused when it loads."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from nas.cli import app
from predictors import create_predictor, load_predictor
from search_spaces import get_space
from search_spaces.errors import InvalidInput

from .conftest import fast_params


def _saved(kind, toy_data, tmp_path):
    space, train, y_train, _, _ = toy_data
    create_predictor(kind, space, **fast_params(kind)).fit(train, y_train, seed=0).save(tmp_path / "p")
    with np.load(tmp_path / "p.npz") as data:
        return space, {k: data[k] for k in data.files}


def _rewrite(tmp_path, arrays):
    with open(tmp_path / "p.npz", "wb") as f:
        np.savez(f, **arrays)


def _first_float(arrays) -> str:
    return next(k for k, v in arrays.items() if v.dtype.kind == "f" and v.size > 1)


@pytest.mark.parametrize("bad,words", [(np.nan, "holds NaN or infinite values"), (np.inf, "holds NaN or infinite"),
                                       ("text", "holds <U4 values, not numbers")], ids=["nan", "inf", "str"])
def test_nan_inf_or_non_numeric_arrays_are_refused(kind, toy_data, tmp_path, bad, words):
    space, arrays = _saved(kind, toy_data, tmp_path)
    name = _first_float(arrays)
    if isinstance(bad, str):
        arrays[name] = np.full(arrays[name].shape, bad)
    else:
        arrays[name] = arrays[name].copy()
        arrays[name].flat[0] = bad
    _rewrite(tmp_path, arrays)
    with pytest.raises(InvalidInput, match=f"p.npz are damaged: '{name}' {words}") as info:
        load_predictor(tmp_path / "p.json", space)
    assert "\n" not in str(info.value)


# a shape the zero-genome probe does not catch: it broadcasts, or the probe never reads it
WRONG_SHAPE = {"ridge": ("x_mean", lambda a: a[:1]), "svr": ("x_scale", lambda a: a[:1]),
               "gbm": ("feature", lambda a: np.concatenate([a[:, :-1], np.full((len(a), 1), 10_000, a.dtype)], 1))}


@pytest.mark.parametrize("kind_name", sorted(WRONG_SHAPE))
def test_arrays_of_the_wrong_shape_are_refused(toy_data, tmp_path, kind_name):
    space, arrays = _saved(kind_name, toy_data, tmp_path)
    name, damage = WRONG_SHAPE[kind_name]
    arrays[name] = damage(arrays[name])
    _rewrite(tmp_path, arrays)
    with pytest.raises(InvalidInput, match=f"predictor arrays in .*p.npz do not fit a {kind_name} predictor"):
        load_predictor(tmp_path / "p.json", space)


def test_search_with_a_nan_predictor_writes_no_run_directory(tmp_path):
    space = get_space("ofa-mbv3")
    genomes = space.sample(40, np.random.default_rng(0))
    p = create_predictor("ridge", space).fit(genomes, np.linspace(60, 80, len(genomes)), seed=0)
    p.save(tmp_path / "pr_nan")
    with np.load(tmp_path / "pr_nan.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays["coef"][3] = np.nan
    with open(tmp_path / "pr_nan.npz", "wb") as f:
        np.savez(f, **arrays)
    result = CliRunner().invoke(app, ["search", "--predictor", str(tmp_path / "pr_nan.json"), "--budget", "20",
                                      "--out", str(tmp_path / "run")])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and "'coef' holds NaN" in lines[0], result.output
    assert not (tmp_path / "run").exists()
