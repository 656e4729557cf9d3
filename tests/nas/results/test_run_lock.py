"""A search run directory has one writer, and ``--out`` never writes among files the engine did not write."""

from __future__ import annotations

import os

import pytest

from nas import api
from nas.errors import RunDirectoryError
from nas.lock import LOCK_NAME

CHEAP = dict(space="ofa-mbv3", target="macs", objectives=["macs", "params"], predictor="none", budget=40,
             searcher="evolution", searcher_options={"population": 20})


def _files(root) -> dict:
    return {p.name: p.read_bytes() for p in root.iterdir()}


def test_a_resume_while_the_run_is_running_is_refused_and_changes_nothing(tmp_path):
    run = tmp_path / "run"
    refused = []

    def second_writer(generation, archive, problem):
        before = _files(run)
        with pytest.raises(RunDirectoryError) as exc:
            api.search(resume=run)
        refused.append(str(exc.value))
        assert _files(run) == before

    api.search(**CHEAP, out=run, on_generation=second_writer)
    assert refused and f"{run} is in use by another nas process (PID {os.getpid()})" in refused[0]
    assert not (run / LOCK_NAME).exists()
    rows = len((run / "results.csv").read_text().splitlines()) - 1
    assert rows == api.load_run(run)["best"]["evaluated"] == 40  # no row written twice
    api.search(resume=run, budget=60)  # released: a later resume runs


def test_out_on_a_directory_of_the_users_files_is_refused_and_leaves_them(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("pareto.png", "best.json", "pareto.csv", "results_dynast.csv"):
        (mine / name).write_text(f"the user's {name}")
    before = _files(mine)
    with pytest.raises(RunDirectoryError, match=r"--out .*mine is not empty \(it holds best.json and 3 more\) "
                                                "and is not a run of nas search"):
        api.search(**CHEAP, out=mine)
    assert _files(mine) == before


def test_out_on_an_empty_directory_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    api.search(**CHEAP, out=tmp_path / "empty")
    assert (tmp_path / "empty" / "best.json").is_file() and not (tmp_path / "empty" / LOCK_NAME).exists()
