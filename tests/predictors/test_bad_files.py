"""Hostile predictor files and training data (issue 17): a deeply nested JSON header, a named pipe, a
deeply nested arch cell in a results CSV; each one ``InvalidInput`` line, never a traceback or a hang."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from nas.cli import app
from predictors import load_predictor
from predictors.data import read_subnets
from search_spaces.errors import InvalidInput

DEEP = "[" * 100_000 + "]" * 100_000


def test_a_deeply_nested_header_is_one_line(tmp_path):
    (tmp_path / "p.json").write_text(DEEP)
    with pytest.raises(InvalidInput, match="p.json is not a saved predictor .it is JSON nested too deeply"):
        load_predictor(tmp_path / "p.json")
    (tmp_path / "m.csv").write_text("config,accuracy\n{},1\n")
    result = CliRunner().invoke(app, ["predictor", "eval", "--predictor", str(tmp_path / "p.json"),
                                      "--data", str(tmp_path / "m.csv")])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and "JSON nested too deeply" in lines[0], result.output


@pytest.mark.parametrize("name", ["p.json", "p.npz"])
def test_a_named_pipe_as_predictor_is_not_a_regular_file(tmp_path, name):
    os.mkfifo(tmp_path / name)
    with pytest.raises(InvalidInput, match=rf"predictor file .*{name} is not a regular file: it is a named pipe"):
        load_predictor(tmp_path / "p")


def test_a_deeply_nested_arch_cell_names_its_line(tmp_path):
    (tmp_path / "r.csv").write_text(f'config,accuracy\n"{DEEP}",1\n')
    with pytest.raises(InvalidInput, match="r.csv line 2: cannot read config .* JSON nested too deeply"):
        read_subnets([tmp_path / "r.csv"], "ofa-mbv3")
