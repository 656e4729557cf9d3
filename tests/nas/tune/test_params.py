"""Sweep parameters: parsed into Tune domains, checked at their bounds against what a run accepts."""

from __future__ import annotations

import pytest

from nas.errors import InvalidInput
from nas.train.config import TrainConfig
from nas.tune.params import check_params, parse_param, split_trial_config

DATA = "synthetic:n_train=48,n_test=8,classes=10,size=32,seed=1"


def _base(strategy: str = "deps", **fixed) -> dict:
    cfg = TrainConfig.for_strategy(strategy, space="ofa-mbv3-cifar", data=DATA, epochs=2, **fixed)
    return {**cfg.to_dict(), "fixed": tuple(fixed)}


@pytest.mark.parametrize("text, kind, args", [
    ("lr=loguniform(1e-3, 0.1)", "loguniform", (1e-3, 0.1)),
    ("shrink_start=uniform(0.3,0.7)", "uniform", (0.3, 0.7)),
    ("batch_size=int(8,32)", "int", (8, 32)),
    ("optimizer=choice(sgd,adamw)", "choice", ("sgd", "adamw")),
    ("n_random=choice(1,2,3)", "choice", (1, 2, 3)),
])
def test_params_parse(text, kind, args):
    p = parse_param(text)
    assert (p.kind, p.args) == (kind, args)
    assert parse_param(str(p)) == p  # the sweep records them as text


def test_int_domain_includes_its_upper_end():
    domain = parse_param("batch_size=int(8,9)").domain()
    assert {domain.sample() for _ in range(200)} == {8, 9}


@pytest.mark.parametrize("text, message", [
    ("lr", "name=kind"), ("lr=normal(0,1)", "unknown kind"), ("lr=uniform(1)", "two finite numbers"),
    ("lr=uniform(0.2,0.1)", "lo < hi"), ("lr=loguniform(0,1)", "lo > 0"), ("lr=uniform(0,1e400)", "finite"),
    ("batch_size=int(1.5,4)", "whole numbers"), ("optimizer=choice()", "distinct"),
    ("optimizer=choice(sgd,sgd)", "distinct"),
])
def test_bad_params_are_one_line_errors(text, message):
    with pytest.raises(InvalidInput, match=message):
        parse_param(text)


def test_params_are_checked_against_the_strategy_and_the_run():
    check_params([parse_param("shrink_start=uniform(0.3,0.7)"), parse_param("lr=loguniform(1e-3,0.1)")], _base())
    with pytest.raises(InvalidInput, match="not a setting of a deps run"):
        check_params([parse_param("phase_epochs=choice(1,2)")], _base())  # progressive shrinking's
    with pytest.raises(InvalidInput, match="is not accepted"):
        check_params([parse_param("label_smoothing=uniform(0.5,1.5)")], _base())  # 1.5 >= 1
    with pytest.raises(InvalidInput, match="is not accepted"):
        check_params([parse_param("optimizer=choice(sgd,lion)")], _base())
    with pytest.raises(InvalidInput, match="fixed by another option"):
        check_params([parse_param("lr=uniform(0.01,0.1)")], _base(lr=0.05))
    with pytest.raises(InvalidInput, match="given twice"):
        check_params([parse_param("lr=uniform(0.01,0.1)"), parse_param("lr=uniform(0.01,0.2)")], _base())
    with pytest.raises(InvalidInput, match="nothing to sweep"):
        check_params([], _base())


def test_a_trial_config_splits_into_settings_and_strategy_options():
    assert split_trial_config({"lr": 0.1, "shrink_start": 0.4}, "deps") == ({"lr": 0.1}, {"shrink_start": 0.4})
