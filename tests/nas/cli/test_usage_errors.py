"""Click's usage errors are one ``error:`` line with exit code 2 on every command, like the engine's own."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from nas.cli import app

from .commands import COMMANDS

runner = CliRunner()


def _one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_unknown_option_is_one_line_naming_the_help(path):
    line = _one_error_line(runner.invoke(app, [*path, "--no-such-option"]))
    assert "--no-such-option" in line and f"nas {' '.join(path)} --help" in line


def test_unknown_command_lists_the_commands():
    line = _one_error_line(runner.invoke(app, ["serch"]))
    assert "'serch'" in line and "search" in line and "spaces" in line


def test_value_of_wrong_type_names_the_option():
    line = _one_error_line(runner.invoke(app, ["search", "--budget", "abc"]))
    assert "--budget" in line


def test_missing_required_option_names_it():
    line = _one_error_line(runner.invoke(app, ["export", "--space", "ofa-mbv3"]))
    assert "--out" in line


@pytest.mark.parametrize("args", [[], ["latency"]], ids=["nas", "nas latency"])
def test_no_arguments_shows_help(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "Usage" in result.output


def test_a_deeply_nested_option_value_is_one_line(tmp_path):
    from nas.cli._common import parse_options

    assert parse_options(["population=50", "sampler=tpe", "hidden=[64, 64]"]) == {
        "population": 50, "sampler": "tpe", "hidden": [64, 64]}  # a bare word stays text
    deep = "[" * 60_000 + "]" * 60_000  # fits in one command-line argument (128 KiB)
    line = _one_error_line(runner.invoke(app, ["search", "--target", "macs", "-o", f"population={deep}",
                                               "--out", str(tmp_path / "run")]))
    assert "option population is JSON nested too deeply to read" in line and not (tmp_path / "run").exists()
