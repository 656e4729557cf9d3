"""Run files read back on resume (``nas.io.read_json``): a deeply nested config.json or state.json is one
error line (issue 17), not a RecursionError traceback, and nothing in the run directory changes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from nas import api
from nas.cli import app

DEEP = "[" * 100_000 + "]" * 100_000


def _snapshot(root) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", ["config.json", "state.json"])
def test_search_resume_from_deeply_nested_run_files_is_one_line(tmp_path, name):
    api.search(space="ofa-mbv3", target="macs", objectives=["macs", "params"], predictor="none", budget=20,
               searcher="random", searcher_options={"batch_size": 10}, out=tmp_path / "run")
    (tmp_path / "run" / name).write_text(DEEP)
    before = _snapshot(tmp_path / "run")
    result = CliRunner().invoke(app, ["search", "--resume", str(tmp_path / "run")])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert f"{name} is JSON nested too deeply to read" in lines[0]
    assert _snapshot(tmp_path / "run") == before


def test_train_resume_from_a_deeply_nested_config_is_one_line(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(DEEP)
    result = CliRunner().invoke(app, ["train", "--resume", str(tmp_path / "run")])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and "config.json is JSON nested too deeply" in lines[0], \
        result.output
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.json"]
