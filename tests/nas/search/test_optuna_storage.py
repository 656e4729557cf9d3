"""Optuna's study lives in the run directory (a journal file optuna-dashboard reads) or in an RDB URL."""

from __future__ import annotations

import numpy as np
import pytest

from nas import api
from search_spaces import get_space

optuna = pytest.importorskip("optuna")
from optuna.storages import JournalStorage  # noqa: E402
from optuna.storages.journal import JournalFileBackend  # noqa: E402

CHEAP = dict(space="ofa-mbv3", target="macs", objectives=["macs", "params"], predictor="none", searcher="optuna")


def _distinct(trials) -> int:
    """Distinct subnets among the trials (Optuna may propose a subnet again, or an equivalent genome;
    it is told the archived values)."""
    space = get_space("ofa-mbv3")
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    index = [{o: i for i, o in enumerate(c.options)} for c in space.choices for _ in range(c.count)]
    genomes = np.array([[index[j][t.params[n]] for j, n in enumerate(space.gene_names)] for t in done])
    return len(np.unique(space.keys_of(genomes)))


def _study(path):
    return optuna.load_study(study_name="nas-search", storage=JournalStorage(JournalFileBackend(str(path))))


def test_journal_in_the_run_directory_holds_every_evaluated_subnet(tmp_path):
    run = tmp_path / "run"
    result = api.search(**CHEAP, budget=30, searcher_options={"population": 10}, out=run)
    study = _study(run / "optuna.journal")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert _distinct(study.trials) == len(result.results) == 30
    assert isinstance(study.sampler, optuna.samplers.BaseSampler)
    assert study.user_attrs["space"] == "ofa-mbv3"
    # the study's values are the minimized objectives the run recorded
    macs = np.unique([t.values[0] for t in done])
    np.testing.assert_allclose(macs, np.unique(result.results["macs"].to_numpy()))


def test_resume_rebuilds_the_journal(tmp_path):
    run = tmp_path / "run"
    api.search(**CHEAP, budget=30, generations=1, searcher_options={"population": 10}, out=run)
    assert _distinct(_study(run / "optuna.journal").trials) == 10
    resumed = api.search(resume=run, generations=3)
    full = api.search(**CHEAP, budget=30, generations=3, searcher_options={"population": 10}, out=tmp_path / "full")
    assert resumed.results["arch_id"].tolist() == full.results["arch_id"].tolist()
    rebuilt, uninterrupted = _study(run / "optuna.journal").trials, _study(tmp_path / "full" / "optuna.journal").trials
    assert [t.params for t in rebuilt] == [t.params for t in uninterrupted]
    assert [t.values for t in rebuilt] == [t.values for t in uninterrupted]


def test_rdb_storage_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    api.search(**CHEAP, budget=20, searcher_options={"population": 10, "storage": url, "study_name": "mine"},
               out=tmp_path / "run")
    study = optuna.load_study(study_name="mine", storage=url)
    assert _distinct(study.trials) == 20
    assert not (tmp_path / "run" / "optuna.journal").exists()
