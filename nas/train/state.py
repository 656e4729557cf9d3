"""Training checkpoints: a supernet checkpoint (``supernets.checkpoint`` format, so evaluation and
export load it directly) whose ``extra["training"]`` holds the optimizer, scheduler, RNG states,
strategy and phase, epoch and step, the run's config and the distillation teacher.

Everything is tensors, numbers, strings, lists and dicts: it loads with ``weights_only=True``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from search_spaces.errors import CheckpointError
from search_spaces.names import family_of
from supernets import Supernet
from supernets.checkpoint import read_checkpoint, save_checkpoint

__all__ = ["TRAIN_FORMAT", "save_training_checkpoint", "read_training_checkpoint", "rng_state", "set_rng_state"]

TRAIN_FORMAT = "nas-train/1"


def rng_state() -> dict:
    """torch, numpy and Python global RNG states as tensors and lists (weights_only-loadable)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_py = random.getstate()
    out = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64),
                   "gauss": gauss_py},
    }
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"].tolist()), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_checkpoint(path: str | Path, supernet: Supernet, *, config: dict, epoch: int, step: int,
                             phase: str, strategy: dict, optimizer: torch.optim.Optimizer,
                             scheduler: Any, teacher: torch.nn.Module | None, data_info: dict) -> None:
    """Atomically write the state after ``epoch`` completed epochs (``step`` optimizer steps)."""
    training = {
        "format": TRAIN_FORMAT,
        "config": config,
        "data": data_info,
        "epoch": epoch,
        "step": step,
        "phase": phase,
        "strategy": strategy,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": rng_state(),
        "teacher": teacher.state_dict() if teacher is not None else None,
    }
    save_checkpoint(supernet, path, extra={"training": training})


def read_training_checkpoint(path: str | Path, config: dict) -> dict:
    """The checkpoint's contents, after checking it was written by a run with exactly ``config``."""
    ckpt = read_checkpoint(path)
    training = ckpt.get("extra", {}).get("training") if isinstance(ckpt.get("extra"), dict) else None
    if not isinstance(training, dict) or training.get("format") != TRAIN_FORMAT:
        raise CheckpointError(f"{path} is not a training checkpoint (format {TRAIN_FORMAT}); "
                              "pass supernet weights with --init instead")
    theirs = training.get("config", {})
    for key in ("space", "strategy"):
        if theirs.get(key) != config.get(key):
            raise CheckpointError(f"{path} was written by a run with {key} {theirs.get(key)}, not {config.get(key)}")
    if ckpt.get("space") not in (family_of(config["space"]), config["space"]):
        raise CheckpointError(f"{path} was made for space {ckpt.get('space')}, not {config['space']}")
    # settings newer versions added are absent from older checkpoints: those ran with the defaults
    differing = sorted(k for k in set(theirs) | set(config) if k in theirs and theirs.get(k) != config.get(k))
    if differing:
        k = differing[0]
        raise CheckpointError(f"{path} was written with {k}={theirs.get(k)!r}, this run has {k}={config.get(k)!r}")
    return ckpt
