"""``train()``: a resumable supernet training run, in this process or on Ray Train workers.

Everything a run needs is checked before its directory is created (space, strategy and its
options, data and labels, batch size, initial weights), so a bad input leaves nothing behind. The
run directory holds ``config.json``, ``metrics.csv``, ``training.png``, ``checkpoints/last.pt``
(every epoch), ``supernet.pt`` (the final weights) and ``summary.json``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from search_spaces.errors import InvalidInput

from ..errors import RunDirectoryError
from ..io import check_empty_out, read_json, remove_stale_temps, write_json
from ..lock import LOCK_NAME, RunLock
from .config import TrainConfig
from .loop import DistContext, RunFiles, TrainingLoop
from .metrics import read_metrics

__all__ = ["train", "TrainResult"]


@dataclass
class TrainResult:
    run_dir: Path
    config: TrainConfig
    metrics: pd.DataFrame
    checkpoint: Path  # final supernet weights (supernet.pt)
    elapsed_s: float
    workers: int | None = None
    resumed_from_epoch: int = 0
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def final(self) -> dict:
        return self.metrics.iloc[-1].dropna().to_dict() if not self.metrics.empty else {}


_FLAGS = {"strategy_options": "option"}  # config keys whose CLI flag has another name


def _resume_config(run: Path, given: Mapping[str, Any]) -> TrainConfig:
    files = RunFiles(run)
    if not files.config.is_file():
        raise RunDirectoryError(f"{run} is not a training run directory (no {RunFiles.CONFIG})")
    try:
        stored = read_json(files.config)
    except (ValueError, OSError) as exc:
        raise RunDirectoryError(f"cannot read {files.config}: {exc}") from None
    if not isinstance(stored, dict) or not isinstance(stored.get("train"), dict):
        hint = " (it is a search run: use nas search --resume)" if isinstance(stored, dict) and "searcher" in stored \
            else ""
        raise RunDirectoryError(f"{run} is not a training run directory: {files.config} has no 'train' settings{hint}")
    stored = stored["train"]
    for key, value in given.items():
        if value is not None and stored.get(key) != value:
            raise RunDirectoryError(f"{run} was trained with {key} {stored.get(key)!r}, not {value!r}; "
                                    f"resume it without --{_FLAGS.get(key, key.replace('_', '-'))} or start a new run")
    try:
        return TrainConfig.from_dict(stored)
    except (TypeError, ValueError) as exc:  # hand-edited or damaged: a value of the wrong type
        raise RunDirectoryError(f"{files.config} is damaged ({exc}); restore it or start a new run") from None


def stored_space(run: Path) -> str | None:
    """The space a training run directory was made for (None when it is not one: resume says why)."""
    try:
        return _resume_config(run, {}).space
    except RunDirectoryError:
        return None


def data_ref(data: str | Path) -> str:
    """How a run records its data: an absolute path for files and folders (runs resume from anywhere),
    the text itself for the others (``synthetic:...``)."""
    path = Path(data)
    return str(path.resolve()) if path.exists() else str(data)


def _check_execution(threads: int | None, workers: int | None, ray_address: str | None, use_gpu: bool,
                     device: str) -> None:
    """Where it runs: checked before the run directory is created, so a mistake leaves nothing behind."""
    import torch

    from ..hardware.opbench import check_threads

    if threads is not None and threads < 1:
        raise InvalidInput(f"--threads must be >= 1, got {threads}")
    check_threads(threads)
    if workers is not None and workers < 1:
        raise InvalidInput(f"--workers must be >= 1, got {workers}")
    if workers is None and ray_address not in (None, "", "local"):
        raise InvalidInput(f"--ray-address {ray_address} needs --workers K (the number of Ray Train workers)")
    local = workers is None or ray_address in (None, "", "local")
    if (use_gpu or device.startswith("cuda")) and local and not torch.cuda.is_available():
        raise InvalidInput("--gpu needs CUDA, and this torch sees no CUDA device; train on the CPU without --gpu")
    if workers is not None and not local:
        from .distributed import check_ray_address

        check_ray_address(ray_address)


def train(space: str | None = None, strategy: str | None = None, data: str | Path | None = None, *,
          epochs: int | None = None, out: str | Path | None = None, resume: str | Path | None = None,
          workers: int | None = None, ray_address: str | None = None, use_gpu: bool = False,
          device: str = "cpu", threads: int | None = None, max_failures: int = 2,
          on_step: Callable | None = None, on_epoch: Callable[[dict], None] | None = None,
          log: Callable[[str], None] | None = None, **settings: Any) -> TrainResult:
    """Train ``space``'s supernet with ``strategy`` on ``data`` for ``epochs`` into run directory ``out``.

    ``settings`` are the other :class:`TrainConfig` fields (batch_size, lr, seed, strategy_options,
    holdout, weight_decay, ...). ``resume`` continues the run in that directory from its last
    checkpoint with its recorded settings; it ends with the weights an uninterrupted run ends with.
    ``workers`` runs the same loop on Ray Train workers (``ray_address``: "local" or a cluster).
    """
    import torch

    start = time.perf_counter()
    _check_execution(threads, workers, ray_address, use_gpu, device)
    if threads is not None:
        torch.set_num_threads(threads)
    lock: RunLock | None = None  # one writer per run directory, held until the summary is written
    made_dir = discard = False  # a new run that fails before its first checkpoint leaves no directory behind
    try:
        if resume is not None:
            if out is not None and Path(out).resolve() != Path(resume).resolve():
                raise InvalidInput(f"--out {out} differs from the run being resumed ({resume}); pass only --resume")
            cfg = _resume_config(Path(resume), {"space": space, "strategy": strategy,
                                                "data": data_ref(data) if data is not None else None,
                                                "epochs": epochs, **settings})
            run = Path(resume)
            lock = RunLock(run / LOCK_NAME, run).acquire()
            for folder in (run, RunFiles(run).checkpoint.parent):
                remove_stale_temps(folder)  # left by the killed run while it wrote a file
        else:
            if space is None or strategy is None or data is None or epochs is None or out is None:
                raise InvalidInput("a new training run needs --space, --strategy, --data, --epochs and --out "
                                   "(or --resume RUN)")
            cfg = TrainConfig.for_strategy(strategy, space=space, data=data_ref(data), epochs=epochs, **settings)
            run = Path(out)
            _check_new_run(run)
        files = RunFiles(run)
        restore = files.checkpoint if resume is not None and files.checkpoint.is_file() else None
        # build everything (data, strategy, optimizer, restored state) before writing anything
        loop = TrainingLoop(cfg, run, DistContext(world_size=workers or 1, device=device, restore_from=restore),
                            on_step=on_step, on_epoch=on_epoch, log=log)
        resumed_from = loop.start_epoch
        if resume is None:
            made_dir = not run.exists()
            run.mkdir(parents=True, exist_ok=True)
            lock = RunLock(run / LOCK_NAME, run).acquire()
            _check_new_run(run)  # again, now that it is ours: another run may have started there meanwhile
            write_json(files.config, {"train": cfg.to_dict(), "created": _now(), "data_info": loop.data_info})
        try:
            if workers is None:
                loop.run()
            else:
                from .distributed import train_with_ray

                del loop  # the workers build their own
                train_with_ray(cfg, run, workers=workers, address=ray_address, use_gpu=use_gpu,
                               resume=resume is not None, max_failures=max_failures)
        except Exception:
            # nothing trained yet (no checkpoint): what was written is half a run that --resume could only
            # start over, so remove it (the folder was new or empty); a kill or Ctrl-C keeps it resumable
            discard = resume is None and not files.checkpoint.is_file()
            if discard:
                _discard_contents(run)
            raise
        metrics = read_metrics(files.metrics)
        elapsed = time.perf_counter() - start
        result = TrainResult(run, cfg, metrics, files.final, elapsed, workers, resumed_from,
                             {"metrics": files.metrics, "plot": files.plot, "checkpoint": files.checkpoint,
                              "final": files.final})
        write_json(files.summary, {"finished": _now(), "elapsed_s": round(elapsed, 3), "workers": workers,
                                   "resumed_from_epoch": resumed_from, "final": result.final,
                                   "files": {k: str(v) for k, v in result.files.items()}})
        return result
    finally:
        if lock is not None:
            lock.release()
        if discard and made_dir:
            with contextlib.suppress(OSError):  # another process may have written there since: keep it
                run.rmdir()


def _discard_contents(run: Path) -> None:
    """Remove what a new run wrote into ``run`` (checked empty when it started), all but the held lock."""
    import shutil

    for path in run.iterdir():
        if path.name == LOCK_NAME:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _check_new_run(run: Path) -> None:
    """``--out`` of a new training run: not a run already, not a file, not a directory of the user's files."""
    if RunFiles(run).config.exists():
        raise RunDirectoryError(f"{run} already holds a training run; pass --resume {run} to continue it, "
                                "or choose another --out")
    if run.exists() and not run.is_dir():
        raise RunDirectoryError(f"--out {run} is a file, not a directory")
    check_empty_out(run, "nas train")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
