"""``tune_training``: sweep a training strategy's options and the optimizer's with Ray Tune.

Optuna's TPE sampler proposes each trial's values (``OptunaSearch``), ASHA stops the trials whose
metric trails at each rung (``ASHAScheduler`` over epochs), and every trial is a ``nas train`` run
of its own. The sweep directory holds ``tune.json`` (its setup), ``trials/<id>/`` (the trials' run
directories), ``ray/`` (Tune's experiment state), then ``trials.csv``, ``best.json`` and
``tune.png``. A killed sweep continues with ``resume`` through Tune's restore: finished trials are
kept, unfinished ones continue from their last reported epoch.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from search_spaces.checks import check_seed
from search_spaces.errors import InvalidInput

from ..errors import RunDirectoryError
from ..io import check_empty_out, read_json, write_json
from ..lock import LOCK_NAME, RunLock
from ..ray_cluster import check_workers, connect_ray
from ..train.config import TrainConfig
from ..train.run import data_ref
from .params import Param, check_params, parse_param
from .report import write_reports

__all__ = ["tune_training", "TuneResult", "METRICS", "MAX_TRIALS"]

METRICS = {"val_acc_mean": "max", "val_acc_max": "max", "val_acc_min": "max", "train_acc": "max", "loss": "min"}
MAX_TRIALS = 10_000  # each trial is a training run: more is a typo
SETUP = "tune.json"
EXPERIMENT = "ray"


@dataclass
class TuneResult:
    sweep_dir: Path
    trials: pd.DataFrame  # one row per trial: id, status, epochs, metric, sampled values, run_dir
    best: dict
    elapsed_s: float
    resumed: bool = False


def tune_training(space: str | None = None, strategy: str | None = None, data: str | Path | None = None, *,
                  epochs: int | None = None, params: Sequence[str | Param] = (), trials: int = 8,
                  metric: str = "val_acc_mean", seed: int = 0, out: str | Path | None = None,
                  resume: str | Path | None = None, workers: int = 1, cpus_per_trial: int = 1,
                  ray_address: str | None = None, grace_period: int = 1, reduction_factor: int = 2,
                  **settings: Any) -> TuneResult:
    """Sweep ``params`` (``'lr=loguniform(1e-3,0.1)'``, ``'shrink_start=uniform(0.3,0.7)'``, ...) over
    ``trials`` training runs of ``epochs`` each, ``workers`` at a time, maximizing ``metric`` (or
    minimizing ``loss``); ``settings`` fix other TrainConfig fields (batch_size, steps_per_epoch,
    strategy_options, ...). ``resume`` continues the sweep in that directory."""
    start = time.perf_counter()
    check_workers(workers, ray_address, cpus_per_trial)
    if resume is not None:
        if out is not None and Path(out).resolve() != Path(resume).resolve():
            raise InvalidInput(f"--out {out} differs from the sweep being resumed ({resume}); pass only --resume")
        sweep = Path(resume)
        setup = _read_setup(sweep)
    else:
        if None in (space, strategy, data, epochs, out):
            raise InvalidInput("a new sweep needs --space, --strategy, --data, --epochs and --out (or --resume DIR)")
        sweep = Path(out)
        setup = _new_setup(space, strategy, data, epochs, params, trials, metric, seed, grace_period,
                           reduction_factor, settings)
        if (sweep / SETUP).exists():
            raise RunDirectoryError(f"{sweep} already holds a sweep; pass --resume {sweep} to continue it")
        check_empty_out(sweep, "nas tune")
    lock = None
    try:
        sweep.mkdir(parents=True, exist_ok=True)
        lock = RunLock(sweep / LOCK_NAME, sweep).acquire()
        if resume is None:
            write_json(sweep / SETUP, setup)
        started = connect_ray(workers * cpus_per_trial, ray_address)
        try:
            grid, resumed = _fit(sweep.resolve(), setup, workers, cpus_per_trial)
        finally:
            if started:
                import ray

                ray.shutdown()
        table, best = write_reports(sweep, setup, grid)
        return TuneResult(sweep, table, best, time.perf_counter() - start, resumed)
    finally:
        if lock is not None:
            lock.release()


def _new_setup(space, strategy, data, epochs, params, trials, metric, seed, grace_period, reduction_factor,
               settings) -> dict:
    if metric not in METRICS:
        raise InvalidInput(f"--metric {metric!r} is not reported by training; allowed: {', '.join(METRICS)}")
    check_seed(seed)
    for name, value, low in (("--trials", trials, 1), ("--grace-period", grace_period, 1),
                             ("--reduction-factor", reduction_factor, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_TRIALS:
            raise InvalidInput(f"{name} must be a whole number from {low} to {MAX_TRIALS}, got {value!r}")
    if grace_period > epochs:
        raise InvalidInput(f"--grace-period {grace_period} exceeds --epochs {epochs}: ASHA could never stop a trial")
    parsed = [p if isinstance(p, Param) else parse_param(p) for p in params]
    cfg = TrainConfig.for_strategy(strategy, space=space, data=data_ref(data), epochs=epochs,
                                   **{**settings, "eval_every": 1})  # the metric is reported every epoch
    base = cfg.to_dict()
    check_params(parsed, {**base, "fixed": tuple(settings)})
    _check_data(base)
    return {"format": "nas-tune/1", "base": base, "params": [str(p) for p in parsed], "trials": trials,
            "metric": metric, "mode": METRICS[metric], "seed": seed, "grace_period": grace_period,
            "reduction_factor": reduction_factor,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def _check_data(base: dict) -> None:
    """The data loads and fits the batch before any trial starts (a trial's failure is Ray's long story)."""
    from ..train.config import prepare_data, steps_per_epoch

    cfg = TrainConfig.from_dict(base)
    steps_per_epoch(cfg, prepare_data(cfg).n_fit)


def _read_setup(sweep: Path) -> dict:
    path = sweep / SETUP
    if not path.is_file():
        raise RunDirectoryError(f"{sweep} is not a sweep directory (no {SETUP})")
    try:
        setup = read_json(path)
        TrainConfig.from_dict(setup["base"])
        [parse_param(p) for p in setup["params"]]
        if setup["metric"] not in METRICS or not isinstance(setup["trials"], int):
            raise ValueError("metric or trials")
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise RunDirectoryError(f"{path} is damaged ({exc}); restore it or start a new sweep") from None
    return setup


def _fit(sweep: Path, setup: dict, workers: int, cpus_per_trial: int) -> tuple[Any, bool]:
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's own tables would interleave with ours
    import optuna
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    from .trial import run_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # its "new study" line says nothing to users
    trainable = tune.with_resources(functools.partial(run_trial, base=setup["base"], sweep_dir=str(sweep),
                                                      threads=cpus_per_trial), {"cpu": cpus_per_trial})
    experiment = sweep / EXPERIMENT
    if tune.Tuner.can_restore(str(experiment)):
        tuner = tune.Tuner.restore(str(experiment), trainable=trainable, resume_unfinished=True,
                                   resume_errored=True)
        return tuner.fit(), True
    for leftover in (experiment, sweep / "trials"):  # killed before Tune saved its state: start over
        shutil.rmtree(leftover, ignore_errors=True)
    params = [parse_param(p) for p in setup["params"]]
    tuner = tune.Tuner(
        trainable,
        param_space={p.name: p.domain() for p in params},
        tune_config=tune.TuneConfig(
            search_alg=OptunaSearch(sampler=optuna.samplers.TPESampler(seed=setup["seed"])),
            scheduler=ASHAScheduler(time_attr="training_iteration", max_t=setup["base"]["epochs"],
                                    grace_period=setup["grace_period"], reduction_factor=setup["reduction_factor"]),
            metric=setup["metric"], mode=setup["mode"], num_samples=setup["trials"],
            max_concurrent_trials=workers),
        run_config=tune.RunConfig(name=EXPERIMENT, storage_path=str(sweep), verbose=0,
                                  checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
                                  failure_config=tune.FailureConfig(max_failures=1)),
    )
    return tuner.fit(), False
