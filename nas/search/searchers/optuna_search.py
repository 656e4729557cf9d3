"""Optuna's NSGA-II or TPE sampler behind the ask/tell contract, with a storage optuna-dashboard reads.

The sampler is always created here and passed to the study explicitly (``sampler=nsga2|tpe``), seeded
from the run's seed. Each gene is a categorical parameter named like the genome (``ks[3]``) whose
choices are the option values. Constraint violations go to ``Trial.set_constraint``. The storage is
a journal file ``optuna.journal`` in the run directory (``optuna-dashboard optuna.journal``), an RDB
URL given as ``storage=sqlite:///...``, or memory when there is no run directory.

Resume replays the run: this run's study is rebuilt trial by trial with the archived values (the
journal file is rewritten; a study in an RDB is deleted and recreated), so the sampler ends in the
state it had, and the dashboard shows the same study.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from search_spaces.errors import InvalidInput

from .._searcher import register_searcher
from ..options import OptionSpec, flag, integer, one_of, text
from ..replay import ReplayedSearcher

SAMPLERS = ("nsga2", "tpe")
JOURNAL = "optuna.journal"
# null (the default) keeps the study in the run directory's optuna.journal
STORAGE_FORMS = "a database URL (sqlite:///optuna.db, postgresql://USER@HOST/DB, mysql://USER@HOST/DB)"


def categorical_choices(options) -> list:
    """The values an Optuna categorical parameter takes for a gene: its options when Optuna can store them
    (None, bool, int, float, str), else the option indices."""
    if all(o is None or isinstance(o, (bool, int, float, str)) for o in options):
        return list(options)
    return list(range(len(options)))


def _import_optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial drowns the progress bar
    return optuna


def _database_url(value: Any) -> Any:
    """A URL SQLAlchemy has a dialect for (checked without connecting), or an Optuna storage object."""
    if not isinstance(value, str):
        from optuna.storages import BaseStorage  # Python callers may pass a storage itself

        if isinstance(value, BaseStorage):
            return value
        raise TypeError
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(value)
        dialect = url.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise ValueError from None
    try:
        dialect.import_dbapi()
    except ImportError:
        raise ValueError(f"its driver {dialect.driver} is not installed") from None
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).expanduser().resolve().parent
        if not folder.is_dir():
            raise ValueError(f"no folder {folder}")
    return value


def _journal_backend(path: str):
    """Optuna's journal file without its fsync per operation: a resumed run rebuilds the journal from
    results.csv, so durability buys nothing here, while an fsync per ask and tell costs 10-100 ms a
    trial on a busy disk."""
    import json

    from optuna.storages.journal import JournalFileBackend
    from optuna.storages.journal._file import get_lock_file

    class Backend(JournalFileBackend):
        def append_logs(self, logs: list[dict]) -> None:
            with get_lock_file(self._lock):
                with open(self._file_path, "ab") as f:
                    f.write(("\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n").encode())

    return Backend(path)


@register_searcher("optuna")
class OptunaSearcher(ReplayedSearcher):
    defaults = {"sampler": "nsga2", "population": 50, "batch_size": None, "n_startup_trials": 10,
                "multivariate": False, "storage": None, "study_name": "nas-search"}
    presets = {"tpe": {"sampler": "tpe"}, "nsga2": {"sampler": "nsga2"}}
    option_specs = {"sampler": one_of(*SAMPLERS), "population": integer(2, individuals=True),
                    "batch_size": integer(1, optional=True, individuals=True),
                    "n_startup_trials": integer(0), "multivariate": flag(),
                    "storage": OptionSpec(STORAGE_FORMS, _database_url, optional=True), "study_name": text()}

    # --------------------------------------------------------------- library
    def _sampler(self, optuna):
        o = self.options
        if o["sampler"] == "nsga2":
            return optuna.samplers.NSGAIISampler(population_size=int(o["population"]), seed=self.seed)
        return optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=int(o["n_startup_trials"]),
                                          multivariate=bool(o["multivariate"]))

    def _storage(self, optuna, resuming: bool):
        storage = self.options["storage"]
        if storage is None and self.workdir is not None:
            from optuna.storages import JournalStorage

            path = self.workdir / JOURNAL
            if resuming:
                path.unlink(missing_ok=True)  # rebuilt below, trial by trial
            return JournalStorage(_journal_backend(str(path)))
        if storage is None:
            return optuna.storages.InMemoryStorage()
        return storage

    def _reset(self, resuming: bool = False) -> None:
        self._study = None
        self._resuming = resuming
        self._pending: list = []

    def _create_study(self):
        optuna = _import_optuna()
        name = str(self.options["study_name"])
        storage = self._storage(optuna, self._resuming)
        storage, existing = self._open(optuna, storage)
        if name in existing:
            if not self._resuming:
                raise InvalidInput(f"study {name!r} already exists in {self.options['storage'] or 'the run directory'};"
                                   f" pass --option study_name=NEW or resume that run")
            optuna.delete_study(study_name=name, storage=storage)
        study = optuna.create_study(study_name=name, storage=storage, sampler=self._sampler(optuna),
                                    directions=["minimize"] * self.n_objectives)
        study.set_user_attr("space", self.space.name)
        study.set_user_attr("objectives", "minimized F as the search loop tells it (maximized metrics negated)")
        self._distributions = self._make_distributions(optuna)
        self._index = {name: {o: i for i, o in enumerate(self._choices(d))} for name, d in self._distributions.items()}
        self._study = study

    def _make_distributions(self, optuna) -> dict:
        """One Optuna distribution per gene, named like the genome (``ks[3]``): categorical over the option values
        (over the option indices where an option is not a number, text, bool or None, e.g. a tuple of depths)."""
        dist = optuna.distributions.CategoricalDistribution
        out = {}
        for c in self.space.choices:
            if c.key in self.space.gene_slices:
                for j in range(self.space.gene_slices[c.key].start, self.space.gene_slices[c.key].stop):
                    out[self.space.gene_names[j]] = dist(categorical_choices(c.options))
        return out

    @staticmethod
    def _choices(distribution) -> list:
        """A gene's parameter values in option order (an IntDistribution's are the option indices)."""
        if hasattr(distribution, "choices"):
            return list(distribution.choices)
        return list(range(distribution.low, distribution.high + 1))

    def _open(self, optuna, storage) -> tuple[Any, list[str]]:
        """(the storage, its study names); a database that cannot be reached is a user error (one line)."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            if isinstance(storage, str):
                storage = optuna.storages.get_storage(storage)
            return storage, [s.study_name for s in optuna.get_all_study_summaries(storage)]
        except (SQLAlchemyError, ImportError) as exc:  # ImportError: the database's driver is not installed
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InvalidInput(f"optuna cannot open storage {self.options['storage']!r}: {first}") from None

    # ------------------------------------------------------------- ask/tell
    def _batch(self) -> int:
        size = self.options["batch_size"]
        if size is None:
            size = self.options["population"] if self.options["sampler"] == "nsga2" else 1
        return max(1, int(size))

    def _ask(self) -> np.ndarray:
        if self._study is None:
            self._create_study()
        trials = [self._study.ask(self._distributions) for _ in range(self._batch())]
        genomes = np.array([[self._index[n][t.params[n]] for n in self.space.gene_names] for t in trials],
                           dtype=np.int64).reshape(len(trials), self.space.n_genes)
        self._pending = list(zip(trials, self.space.keys_of(genomes).tolist()))
        return genomes

    def _tell(self, genomes: np.ndarray, F: np.ndarray, G: np.ndarray) -> None:
        optuna = _import_optuna()
        told = {k: i for i, k in enumerate(self.space.keys_of(genomes).tolist())}
        for trial, key in self._pending:
            i = told.get(key)
            if i is None:  # the budget ran out before this subnet could be evaluated
                self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            for c, value in enumerate(G[i]):
                trial.set_constraint(f"c{c}", float(value))
            values = [float(v) if math.isfinite(v) else float("inf") for v in F[i]]
            self._study.tell(trial, values if len(values) > 1 else values[0])
        self._pending = []

    @property
    def study(self):
        """The Optuna study (created at the first ask)."""
        return self._study
