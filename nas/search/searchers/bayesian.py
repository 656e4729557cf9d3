"""Bayesian optimization for expensive objectives: Optuna's GPSampler (``gp``) and BoTorch's qLogNEHVI (``botorch``).

This file holds what the two share; each searcher is in its own file (``bo_gp.py``, ``bo_botorch.py``).
Both are Optuna studies like the ``optuna`` searcher (same journal in the run directory, same ``storage`` and
``study_name`` options, optuna-dashboard reads them), one subnet per ask by default: each proposal fits Gaussian
processes to what was evaluated (one per objective and per constraint) and maximizes an acquisition function.

* ``gp``: Optuna's ``GPSampler`` (Matern-5/2 ARD kernel; log expected hypervolume improvement for 2-3
  objectives, log expected improvement for one; constraints modeled by their own GPs and folded in as the
  probability of feasibility, logCEHVI / logCEI).
* ``botorch``: Optuna-integration's ``BoTorchSampler`` with BoTorch's noisy expected hypervolume improvement
  (qLogNEHVI; qLogNEI for one objective), constraints as BoTorch outcome constraints. Needs
  ``pip install 'nas-engine[bo]'``.

Genes: an option list of numbers in order (kernel sizes, expand ratios, depths) is an ordinal integer
parameter (``IntDistribution`` over the option index), other genes are categorical (NAS-Bench-201's
operations); ``encoding`` forces one or the other.

Acquisition search: in a space whose genome grid holds at most ``EXHAUSTIVE_LIMIT`` genomes (NAS-Bench-201's
15,625 cells) each proposal scores a discrete pool of subnets not evaluated yet that pass the cheap
constraints: all of them when at most ``candidates`` are left (``acquisition_search=exhaustive``: always),
else ``candidates`` of them, the open neighbors of the evaluated front (one gene changed) topped up with
uniform picks; so it never proposes a repeat. Larger spaces use the library's optimizer (Optuna's QMC
samples + local search, BoTorch's multi-start L-BFGS on the relaxed encoding). A proposal that is already
evaluated, or fails the cheap constraints, is replaced by the nearest fresh genome (1-3 genes changed at
random) and recorded in the study as a PRUNED trial (user attribute ``skipped``), so no evaluation is spent
on it. ``batch_size`` > 1 proposes that many subnets per ask: GPSampler conditions each on the pending
ones (q-batch acquisitions), BoTorch picks them jointly from one model fit (sequential greedy q-batch).

History cap: a GP costs O(n^3) to fit and O(n) memory per candidate in n evaluated subnets, so each
proposal fits on at most ``max_history`` of them: the best half by NSGA-II's survival (feasible first,
non-dominated fronts, crowding) and the rest spread evenly over the run in evaluation order (the initial
design included), so the model stays accurate near the front and still knows the poor regions.

Threads: every proposal runs with one torch thread (Optuna's own advice for its GPSampler on Linux: two
thread pools on shared cores made a proposal 20x slower here), which also keeps proposals bit-for-bit
reproducible whatever the machine's thread settings.

Time per proposal (benchmarks/bo_proposal_time.py, medians, 2 shared cores at load 3-5): gp 0.5 s at 100
evaluated NAS-Bench-201 cells, 1.8-3.4 s at 1,000-3,000 (fitted on 300; 11.7 s fitted on all 1,000), 2.6-3.5 s
on ofa-mbv3 (45 genes); botorch 1.7 s at 100, 4.7-6.0 s at 1,000-3,000 (fitted on 200; 39 s and 3.5 GB fitted
on 500), 3.4-7.9 s on ofa-mbv3. A resumed gp run of 3,000 subnets rebuilds its study in seconds.

Resume: the state holds the sampler's state (its random generators, the GP kernel parameters it warm-starts
from, BoTorch's seed counter) and how the study's trials map onto the archive's rows (only the exceptions:
repeats, skipped and failed trials), so ``load_state_dict`` rebuilds the study from the archive without
fitting a single GP and the resumed run ends exactly where an uninterrupted one ends. A state saved by
another Optuna/BoTorch version is replayed instead (every proposal recomputed, as the ``optuna`` searcher).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import sys
import warnings
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from search_spaces.errors import InvalidInput

from ...errors import RunDirectoryError
from ..options import OptionSpec, one_of, text
from ..pareto import select_best
from ._pymoo import fresh_samples
from .optuna_search import STORAGE_FORMS, OptunaSearcher, _database_url, _import_optuna, categorical_choices

__all__ = ["history_rows", "EXHAUSTIVE_LIMIT", "MAX_HISTORY"]  # the searchers: bo_gp.py, bo_botorch.py

#: acquisition_search=auto scores a discrete pool of genomes when the genome grid holds at most this many
EXHAUSTIVE_LIMIT = 20_000
#: acquisition_search=exhaustive is refused past this many genomes (their encodings are held in memory)
EXHAUSTIVE_MAX = 200_000
#: max_history's upper bound: past it one proposal takes minutes (O(n^3) fits) and GBs (O(n^2 genes) per GP)
MAX_HISTORY = {"gp": 2000, "botorch": 500}
MIN_HISTORY = 10
CHUNK = 2048  # candidates GPSampler's acquisition scores at once
#: qLogNEHVI holds (candidates x MC samples x hypervolume boxes) at once: 256 keeps that to a few hundred MB
#: (uncapped at 1,000 subnets, 2,048 candidates at once grew to 21 GB)
BOTORCH_CHUNK = 256
INSTALL_BO = "pip install 'nas-engine[bo]' (botorch and optuna-integration)"


def _bounded(low: int, high: int, advice: str = "") -> OptionSpec:
    """An integer in [low, high]; ``advice`` says what to do instead of a value above ``high``."""

    def convert(value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError
        if value > high:
            raise ValueError(advice) if advice else ValueError
        return int(value)

    return OptionSpec(f"an integer from {low} to {high}", convert, low=low, high=high)


def _history_spec(name: str) -> OptionSpec:
    return _bounded(MIN_HISTORY, MAX_HISTORY[name],
                    f"a GP on more subnets takes minutes per proposal; for longer runs use --searcher nsga2, "
                    f"evolution or linas, or keep {name} with a smaller max_history")


def history_rows(F: np.ndarray, violation: np.ndarray | None, cap: int) -> np.ndarray:
    """Rows (in order) a GP is fitted on when more than ``cap`` subnets were evaluated: the best ``cap // 2``
    by NSGA-II's survival (least violation, non-dominated front, crowding), the rest spread evenly over the
    others in evaluation order."""
    n = len(F)
    if n <= cap:
        return np.arange(n)
    F = np.asarray(F, dtype=np.float64)
    F = np.where(np.isnan(F), np.inf, F)
    F = np.clip(F, -np.finfo(np.float64).max, np.finfo(np.float64).max)
    best = np.asarray(select_best(F, cap // 2, violation), dtype=np.int64)
    rest = np.setdiff1d(np.arange(n), best)
    spread = rest[np.round(np.linspace(0, len(rest) - 1, cap - len(best))).astype(np.int64)]
    return np.sort(np.concatenate([best, spread]))


@functools.cache
def _blas():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # found once: threadpool_limits() alone scans the loaded libraries every call


@contextmanager
def _one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with _blas().limit(limits=1), warnings.catch_warnings():  # BLAS too (scipy's L-BFGS-B)
            warnings.simplefilter("ignore")  # Optuna's experimental-API and BoTorch's input-scaling warnings
            yield
    finally:
        torch.set_num_threads(threads)


def _random_state(rs: np.random.RandomState) -> list:
    name, keys, pos, has_gauss, cached = rs.get_state(legacy=True)
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def _set_random_state(rs: np.random.RandomState, state: list) -> None:
    rs.set_state((state[0], np.asarray(state[1], dtype=np.uint32), int(state[2]), int(state[3]), float(state[4])))


def _installed(module: str) -> bool:
    """Whether ``module`` imports, without importing it (BoTorch alone takes seconds)."""
    if module in sys.modules:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _versions(name: str) -> dict:
    out = {}
    for package in ("optuna",) + (("botorch", "optuna-integration") if name == "botorch" else ()):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    return out


class _BayesianSearcher(OptunaSearcher):
    """What ``gp`` and ``botorch`` share: encoding, fresh proposals, the history cap, snapshot resume."""

    shared_defaults = {"n_startup_trials": 10, "batch_size": 1, "encoding": "auto", "acquisition_search": "auto",
                       "candidates": 2048, "storage": None, "study_name": "nas-search"}
    shared_specs = {"n_startup_trials": _bounded(2, 10_000), "batch_size": _bounded(1, 64),
                    "encoding": one_of("auto", "ordinal", "categorical"),
                    "acquisition_search": one_of("auto", "exhaustive", "optimizer"),
                    "candidates": _bounded(16, EXHAUSTIVE_MAX),
                    "storage": OptionSpec(STORAGE_FORMS, _database_url, optional=True), "study_name": text()}

    def _check_options(self) -> None:
        grid = float(np.prod(self.space.n_options.astype(float)))
        mode = self.options["acquisition_search"]
        if mode == "exhaustive" and grid > EXHAUSTIVE_MAX:
            raise InvalidInput(f"{self.name} option acquisition_search=exhaustive scores every genome, but "
                               f"{self.space.name} has {grid:.3g} (at most {EXHAUSTIVE_MAX:,}); use auto or optimizer")
        self._exhaustive = mode == "exhaustive" or (mode == "auto" and grid <= EXHAUSTIVE_LIMIT)
        from search_spaces.checks import check_fits_in_memory

        check_fits_in_memory(self._model_bytes(int(self.options["max_history"])),
                             f"{self.name} option max_history={self.options['max_history']}")
        self._grid_cache = None
        self._encoded_cache: dict = {}

    def _model_bytes(self, n: int) -> float:
        """Memory the models of one proposal hold, fitted on ``n`` subnets (estimated)."""
        raise NotImplementedError

    def check_budget(self, budget: int) -> None:
        """``InvalidInput`` when a run of ``budget`` subnets would never get past the random initial design
        (for the caller to check before a run directory is written)."""
        design = int(self.options["n_startup_trials"])
        if budget <= design:
            raise InvalidInput(f"--budget {budget} is within {self.name}'s initial design of n_startup_trials={design} "
                               f"random subnets, so no Bayesian proposal would be made; raise --budget or lower "
                               f"-o n_startup_trials")

    # --------------------------------------------------------------- library
    def _batch(self) -> int:
        return int(self.options["batch_size"])

    def _reset(self, resuming: bool = False) -> None:
        super()._reset(resuming)
        self._n_trials = 0  # trials created in the study
        self._max_row = -1  # the last archive row a trial was told
        self._exceptions: list[list] = []  # [trial number, row, kind, genome or None] of every trial not plain
        self._taken: set = set()  # keys of this ask's proposals

    def _make_distributions(self, optuna) -> dict:
        encoding = self.options["encoding"]
        out = {}
        for c in self.space.choices:
            if c.key not in self.space.gene_slices:
                continue
            numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in c.options)
            steps = np.diff(np.asarray(c.options, dtype=np.float64)) if numbers else np.empty(0)
            ordinal = encoding == "ordinal" or (encoding == "auto" and numbers and (np.all(steps > 0) or
                                                                                  np.all(steps < 0)))
            for j in range(self.space.gene_slices[c.key].start, self.space.gene_slices[c.key].stop):
                out[self.space.gene_names[j]] = (optuna.distributions.IntDistribution(0, len(c.options) - 1)
                                                 if ordinal else optuna.distributions.CategoricalDistribution(
                                                     categorical_choices(c.options)))
        return out

    def _params_of(self, genome: np.ndarray) -> dict:
        return {name: self._values[name][int(g)] for name, g in zip(self.space.gene_names, genome)}

    def _genome_of(self, params: dict) -> np.ndarray:
        return np.array([self._index[n][params[n]] for n in self.space.gene_names], dtype=np.int64)

    def _create_study(self):
        super()._create_study()
        self._values = {name: self._choices(d) for name, d in self._distributions.items()}

    # ------------------------------------------------------- history and candidates
    def _history(self, trials: list) -> list:
        cap = int(self.options["max_history"])
        if len(trials) <= cap:
            return trials
        F = np.array([t.values for t in trials], dtype=np.float64)
        violation = None
        if self.n_constraints:
            G = np.array([list(t.constraints.values()) for t in trials], dtype=np.float64)
            violation = np.clip(G, 0, None).sum(axis=1)
        return [trials[i] for i in history_rows(F, violation, cap)]

    def _grid(self):
        """(every distinct genome, its keys, passes the cheap constraints) of a small space, computed once."""
        if self._grid_cache is None:
            every = np.ascontiguousarray(
                np.indices(tuple(self.space.n_options)).reshape(self.space.n_genes, -1).T, dtype=np.int64)
            _, first = np.unique(self.space.keys_of(every), return_index=True)
            every = every[np.sort(first)]
            feasible = self.is_feasible(every) if self.is_feasible is not None else np.ones(len(every), dtype=bool)
            keys = self.space.keys_of(every).tolist()
            self._grid_cache = (every, {k: i for i, k in enumerate(keys)}, np.asarray(feasible, dtype=bool))
        return self._grid_cache

    def _open_mask(self) -> np.ndarray:
        """Which grid genomes may be proposed: not evaluated, not proposed in this ask, feasible."""
        every, index, feasible = self._grid()
        mask = feasible.copy()
        if self.archive is not None and len(self.archive):
            mask &= self.archive.new_mask(every)
        for key in self._taken:
            i = index.get(key)
            if i is not None:
                mask[i] = False
        return mask

    def _score_candidates(self, acqf) -> np.ndarray | None:
        """GPSampler: the pooled grid genome of highest acquisition (normalized as GPSampler reads it), or None."""
        if not self._exhaustive:
            return None
        space = acqf.search_space
        names = tuple(space._optuna_search_space)
        if names not in self._encoded_cache:
            from optuna._gp.search_space import SearchSpace as GPSpace

            every = self._grid()[0]
            columns = []
            for name in names:
                d = space._optuna_search_space[name]
                table = GPSpace({name: d}).get_normalized_params([None] * len(self._values[name]),
                                                                   [{name: v} for v in self._values[name]])[:, 0]
                columns.append(table[every[:, self.space.gene_names.index(name)]])
            X = np.stack(columns, axis=1)
            check = space.get_normalized_params([None] * 3, [self._params_of(g) for g in every[:3]])
            if not np.array_equal(check, X[:3]):
                raise RuntimeError("gp: the candidates' encoding differs from GPSampler's")
            self._encoded_cache[names] = X
        X = self._encoded_cache[names]
        idx = self._pool()
        if not len(idx):
            return None
        scores = np.concatenate([acqf.eval_acqf_no_grad(X[idx[i:i + CHUNK]]) for i in range(0, len(idx), CHUNK)])
        return X[idx[int(np.argmax(np.nan_to_num(scores, nan=-np.inf)))]].copy()

    def _encoded_candidates(self, search_space: dict):
        """BoTorchSampler: the open grid genomes in its encoding (a tensor), or None."""
        if not self._exhaustive:
            return None
        import torch
        from optuna._transform import _SearchSpaceTransform

        names = tuple(search_space)
        if names not in self._encoded_cache:
            every = self._grid()[0]
            blocks = []
            for name in names:
                trans = _SearchSpaceTransform({name: search_space[name]})
                table = np.stack([trans.transform({name: v}) for v in self._values[name]])
                blocks.append(table[every[:, self.space.gene_names.index(name)]])
            X = np.concatenate(blocks, axis=1)
            whole = _SearchSpaceTransform(search_space)
            check = np.stack([whole.transform({n: self._params_of(g)[n] for n in names}) for g in every[:3]])
            if not np.array_equal(check, X[:3]):
                raise RuntimeError("botorch: the candidates' encoding differs from BoTorchSampler's")
            self._encoded_cache[names] = X
        pool = self._pool()
        if not len(pool):
            return None
        return torch.from_numpy(self._encoded_cache[names][pool])

    def _pool(self) -> np.ndarray:
        """Grid indices of the open genomes a proposal scores: all of them (acquisition_search=exhaustive, or
        when at most ``candidates`` are open), else ``candidates`` of them: the open neighbors (one gene changed)
        of the evaluated front (up to half), topped up with uniform picks of the rest."""
        open_ = self._open_mask()
        idx = np.flatnonzero(open_)
        limit = int(self.options["candidates"])
        if self.options["acquisition_search"] == "exhaustive" or len(idx) <= limit:
            return idx
        every, index, _ = self._grid()
        near: list[int] = []
        if self.archive is not None and len(self.archive):
            for genome in self.archive.genomes_at(self.archive.front_rows()):
                for j in np.flatnonzero(self.space.n_options > 1):
                    neighbors = np.repeat(genome[None], int(self.space.n_options[j]), axis=0)
                    neighbors[:, j] = np.arange(self.space.n_options[j])
                    near.extend(index[k] for k in self.space.keys_of(neighbors).tolist() if k in index)
        near_ = np.unique(np.asarray(near, dtype=np.int64))
        near_ = near_[open_[near_]][: limit // 2]
        rest = np.setdiff1d(idx, near_)
        picked = self.rng.choice(rest, size=limit - len(near_), replace=False)
        return np.sort(np.concatenate([near_, picked]))

    # ------------------------------------------------------------- fresh proposals
    def _usable(self, genomes: np.ndarray) -> np.ndarray:
        ok = self.archive.new_mask(genomes) if self.archive is not None else np.ones(len(genomes), dtype=bool)
        if self._taken and ok.any():
            keys = self.space.keys_of(genomes).tolist()
            ok &= np.array([k not in self._taken for k in keys])
        if self.is_feasible is not None and ok.any():
            ok[ok] = self.is_feasible(genomes[ok])
        return ok

    def _nearest_fresh(self, genome: np.ndarray) -> np.ndarray | None:
        """A genome 1, 2 or 3 genes away that is new and feasible, else a uniform fresh one, else None."""
        varying = np.flatnonzero(self.space.n_options > 1)
        if not len(varying):
            return None
        for changes in (1, 2, 3):
            k = min(changes, len(varying))
            candidates = np.repeat(genome[None], 32, axis=0)
            for row in candidates:
                genes = self.rng.choice(varying, size=k, replace=False)
                n = self.space.n_options[genes]
                row[genes] = (row[genes] + self.rng.integers(1, n)) % n
            ok = self._usable(candidates)
            if ok.any():
                return candidates[int(np.flatnonzero(ok)[0])]
        taken = None
        if self._taken:
            taken = np.array([g for _, _, g in self._pending], dtype=np.int64).reshape(-1, self.space.n_genes)
        fresh = fresh_samples(self.space, 1, self.rng, self.archive, self.is_feasible, exclude=taken)
        return fresh[0] if len(fresh) else None

    # ------------------------------------------------------------- ask/tell
    def _ask(self) -> np.ndarray:
        optuna = _import_optuna()
        with _one_thread():
            if self._study is None:
                self._create_study()
            self._pending, self._taken = [], set()
            if hasattr(self._study.sampler, "queue"):
                self._study.sampler.queue = []
            for _ in range(self._batch()):
                trial = self._study.ask(self._distributions)
                genome = self._genome_of(trial.params)
                if not self._usable(genome[None])[0]:
                    substitute = self._nearest_fresh(genome)
                    if substitute is not None:
                        repeat = self.archive is not None and self.archive.lookup(genome[None])[0] >= 0
                        reason = "already evaluated" if repeat or self._key(genome) in self._taken else "infeasible"
                        trial.set_user_attr("skipped", reason)
                        self._study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                        self._log(trial.number, -1, reason, genome)
                        self._study.enqueue_trial(self._params_of(substitute))
                        trial = self._study.ask(self._distributions)
                        genome = substitute
                key = self._key(genome)
                self._taken.add(key)
                self._pending.append((trial, key, genome))
        genomes = [g for _, _, g in self._pending]
        return np.array(genomes, dtype=np.int64).reshape(len(genomes), self.space.n_genes)

    def _remaining(self) -> int:
        """Trials this ask still has to propose (the one being sampled included)."""
        return max(1, self._batch() - len(self._pending))

    def _key(self, genome: np.ndarray):
        return self.space.keys_of(genome[None]).tolist()[0]

    def _tell(self, genomes: np.ndarray, F: np.ndarray, G: np.ndarray) -> None:
        optuna = _import_optuna()
        keys = self.space.keys_of(genomes).tolist()
        told = {k: i for i, k in enumerate(keys)}
        rows = self.archive.lookup(genomes) if self.archive is not None else np.full(len(genomes), -1)
        for trial, key, genome in self._pending:
            i = told.get(key)
            if i is None:  # the budget ran out before this subnet could be evaluated
                self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
                self._log(trial.number, -1, "failed", genome)
                continue
            for c, value in enumerate(G[i]):
                trial.set_constraint(f"c{c}", float(value))
            values = [float(v) if math.isfinite(v) else float("inf") for v in F[i]]
            self._study.tell(trial, values if len(values) > 1 else values[0])
            self._log(trial.number, int(rows[i]), "complete", genome)
        self._pending, self._taken = [], set()

    def _log(self, number: int, row: int, kind: str, genome: np.ndarray) -> None:
        """Record how trial ``number`` maps onto the archive; a plain one (the next new row, complete, the
        archive's very genome) is only counted."""
        same = row >= 0 and self.archive is not None and np.array_equal(genome, self.archive.genomes_at([row])[0])
        if not (kind == "complete" and row == self._max_row + 1 and same):
            self._exceptions.append([int(number), int(row), kind, None if same else genome.tolist()])
        self._max_row = max(self._max_row, row)
        self._n_trials = int(number) + 1

    # ------------------------------------------------------------- resume
    def _sampler_state(self) -> dict:
        raise NotImplementedError

    def _load_sampler_state(self, state: dict) -> None:
        raise NotImplementedError

    def _extra_state(self) -> dict:
        state = super()._extra_state()
        if self._study is None or self.archive is None or self._pending:
            return state
        state["bo"] = {"versions": _versions(self.name), "n_trials": self._n_trials, "exceptions": self._exceptions,
                       "sampler": self._sampler_state()}
        return state

    def _resume(self, state: dict) -> None:
        snapshot = state.get("bo")
        if not int(state["generation"]) or not snapshot or self.archive is None or \
                snapshot.get("versions") != _versions(self.name):
            super()._resume(state)  # nothing asked yet, or another library version: replay the run
            return
        optuna = _import_optuna()
        archive = self.archive
        self._reset(resuming=True)
        with _one_thread():
            self._create_study()
            exceptions = {int(e[0]): e for e in snapshot["exceptions"]}
            trials, max_row = [], -1
            F, G = archive.F, archive.G
            for number in range(int(snapshot["n_trials"])):
                _, row, kind, genome = exceptions.get(number, (number, max_row + 1, "complete", None))
                row = int(row)
                if row >= len(archive):
                    raise RunDirectoryError(f"{self.name}'s saved study names archive row {row} of {len(archive)}: "
                                            "the run directory is damaged")
                genome = archive.genomes_at([row])[0] if genome is None else np.asarray(genome, dtype=np.int64)
                params = self._params_of(genome)
                if kind == "complete":
                    values = [float(v) if math.isfinite(v) else float("inf") for v in F[row]]
                    constraints = {f"c{c}": float(g) for c, g in enumerate(G[row])} or None
                    trial = optuna.trial.create_trial(values=values, params=params, distributions=self._distributions,
                                                      constraints=constraints)
                else:
                    state_ = optuna.trial.TrialState.FAIL if kind == "failed" else optuna.trial.TrialState.PRUNED
                    attrs = {} if kind == "failed" else {"skipped": kind}
                    trial = optuna.trial.create_trial(state=state_, params=params, distributions=self._distributions,
                                                      user_attrs=attrs)
                trials.append(trial)
                max_row = max(max_row, row)
            if max_row + 1 != len(archive):
                raise RunDirectoryError(f"{self.name}'s saved study covers {max_row + 1} subnets but the archive holds "
                                        f"{len(archive)}: the run directory is damaged")
            self._study.add_trials(trials)
            self._load_sampler_state(snapshot["sampler"])
        self._n_trials, self._max_row = int(snapshot["n_trials"]), max_row
        self._exceptions = [list(e) for e in snapshot["exceptions"]]
        self.generation = int(state["generation"])
        self.rng.bit_generator.state = state["rng"]
        replay = state.get("replay", {})
        self._last_ask, self._told = replay.get("last_ask"), int(replay.get("told", 0))
