"""Predictor options that cannot finish or cannot fit in memory (issue 17) are one line before any fit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from nas.cli import app
from predictors import create_predictor
from predictors.mlp import MAX_EPOCHS
from predictors.trees import MAX_ESTIMATORS
from search_spaces import get_space
from search_spaces.errors import InvalidInput


def test_mlp_widths_beyond_memory_are_refused_when_made():
    with pytest.raises(InvalidInput, match=r"^mlp option hidden=\[100000000\] \(.* weights\) needs about .* of "
                                           r"memory, more than the .* this machine has available"):
        create_predictor("mlp", get_space("ofa-mbv3"), hidden=[100_000_000])


@pytest.mark.parametrize("kind,option,high", [("mlp", "epochs", MAX_EPOCHS), ("gbm", "n_estimators", MAX_ESTIMATORS)])
def test_rounds_that_would_never_finish_are_bounded(kind, option, high):
    with pytest.raises(InvalidInput, match=rf"invalid {kind} option {option}=1000000000000: must be .*<= {high}"):
        create_predictor(kind, get_space("ofa-mbv3"), **{option: 10**12})


@pytest.mark.parametrize("option", ["hidden=[100000000]", "epochs=1000000000000"])
def test_predictor_fit_cli_refuses_them_in_one_line_and_writes_nothing(tmp_path, option):
    space = get_space("ofa-mbv3")
    archs = space.decode_many(space.sample(20, np.random.default_rng(0)))
    lines = ["config,accuracy"] + [f'"{json.dumps(a).replace(chr(34), chr(34) * 2)}",{70 + i % 5}'
                                   for i, a in enumerate(archs)]
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["predictor", "fit", "--space", "ofa-mbv3", "--data", str(tmp_path / "r.csv"),
                                      "--kind", "mlp", "--option", option, "--out", str(tmp_path / "p")])
    out = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(out) == 1 and out[0].startswith("error: "), result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]
