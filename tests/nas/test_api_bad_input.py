"""``nas.api.search``: bad settings are refused before a run directory exists, and a run that fails
before saving its first generation leaves nothing behind."""

from __future__ import annotations

import pytest

import nas.api
from nas.api import search
from nas.errors import InvalidInput, NasError


@pytest.mark.parametrize("kwargs,match", [
    ({"seed": -1}, "--seed must be an integer from 0 to"),
    ({"seed": 1.5}, "--seed must be an integer from 0 to"),
    ({"generations": 0}, "--generations must be an integer >= 1"),
    ({"measure_options": {"split": "test"}}, "--split: only for accuracy measured on a trained supernet"),
])
def test_bad_settings_are_refused_before_the_run_directory_exists(tmp_path, kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        search("ofa-mbv3", "macs", budget=20, out=tmp_path / "run", **kwargs)
    assert not (tmp_path / "run").exists()


def _failing_after(rows: int, state: bool):
    """A search loop that writes ``rows`` result rows (and a state file if ``state``) and then fails."""

    def run_search(space, evaluator, strategy, *, run_dir, **_):
        run_dir.file(run_dir.RESULTS).write_text("arch_id\n" + "x\n" * rows)
        if state:
            run_dir.file(run_dir.STATE).write_text("{}")
        raise NasError("the evaluator failed")

    return run_search


def test_a_run_failing_before_its_first_generation_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(nas.api, "run_search", _failing_after(3, state=False))
    with pytest.raises(NasError, match="the evaluator failed"):
        search("ofa-mbv3", "macs", budget=20, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_failing_run_in_an_existing_folder_removes_only_its_own_files(tmp_path, monkeypatch):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    monkeypatch.setattr(nas.api, "run_search", _failing_after(3, state=False))
    with pytest.raises(NasError):
        search("ofa-mbv3", "macs", budget=20, out=tmp_path / "run")
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["notes.txt"]


def test_a_run_that_saved_a_generation_is_kept_for_resume(tmp_path, monkeypatch):
    monkeypatch.setattr(nas.api, "run_search", _failing_after(3, state=True))
    with pytest.raises(NasError):
        search("ofa-mbv3", "macs", budget=20, out=tmp_path / "run")
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"config.json", "results.csv", "state.json"}


def test_resume_removes_stale_temp_files_of_the_killed_run(tmp_path):
    search("ofa-mbv3", "macs", budget=40, out=tmp_path / "run")
    (tmp_path / "run" / ".best.json.abc123.tmp.json").write_text("{")
    search(resume=tmp_path / "run", budget=60)
    assert not list((tmp_path / "run").glob(".*.tmp*"))


@pytest.mark.parametrize("key,value,match", [
    ("budget", "abc", "'budget' is 'abc'"),
    ("constraints", "macs<=1", "'constraints' is 'macs<=1'"),
    ("searcher_options", [1], "'searcher_options' is \\[1\\]"),
    ("seed", True, "'seed' is True"),
    ("space", None, "lacks 'space'"),
])
def test_a_damaged_config_is_one_clear_error_on_resume(tmp_path, key, value, match):
    import json

    from nas.errors import RunDirectoryError

    search("ofa-mbv3", "macs", budget=40, out=tmp_path / "run")
    path = tmp_path / "run" / "config.json"
    cfg = json.loads(path.read_text())
    if value is None:
        del cfg[key]
    else:
        cfg[key] = value
    path.write_text(json.dumps(cfg))
    with pytest.raises(RunDirectoryError, match=match):
        search(resume=tmp_path / "run")
