"""The images a trained supernet is measured (and its exported subnets calibrated) on.

A checkpoint written by ``nas train`` records how its data was split and normalized; evaluating it
reuses both, so "holdout" means the very images training held out. Checkpoints from elsewhere
(e.g. once-for-all weights) get the default split and statistics computed from the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import torch

from search_spaces.errors import InvalidInput

from ..data import SPLIT_SEED, ImageData, channel_stats, holdout_split, load_images, normalize, resize
from .accuracy import EvalSet

__all__ = ["SPLITS", "training_info", "build_evalset", "calibration_batches"]

SPLITS = ("holdout", "test")


def training_info(meta: Mapping | None) -> dict:
    """``{"config": ..., "data": ...}`` recorded by ``nas train`` in a checkpoint's metadata (or {})."""
    extra = (meta or {}).get("extra") or {}
    training = extra.get("training") if isinstance(extra, Mapping) else None
    return dict(training) if isinstance(training, Mapping) else {}


def _fit_and_holdout(data: ImageData, info: dict) -> tuple[np.ndarray, np.ndarray]:
    cfg = info.get("config", {})
    return holdout_split(len(data.y_train), cfg.get("holdout", 0.1), cfg.get("split_seed", SPLIT_SEED))


def build_evalset(data: str | Path | ImageData, *, meta: Mapping | None = None, split: str = "holdout",
                  bn_images: int = 2000, eval_images: int | None = None, n_classes: int | None = None) -> EvalSet:
    """Calibration images (from the training part of the split) and evaluation images of ``split``."""
    if split not in SPLITS:
        raise InvalidInput(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    _check_count("--bn-images", bn_images)
    if eval_images is not None:
        _check_count("--eval-images", eval_images)
    images = data if isinstance(data, ImageData) else load_images(data)
    if n_classes is not None:
        images.check_labels(n_classes, f"a supernet with {n_classes} outputs")
    info = training_info(meta)
    fit, held = _fit_and_holdout(images, info)
    x_fit = images.x_train[torch.from_numpy(fit)]
    stats = info.get("data", {})
    mean, std = (stats["mean"], stats["std"]) if "mean" in stats else channel_stats(x_fit)
    if split == "holdout":
        x, y = images.x_train[torch.from_numpy(held)], images.y_train[torch.from_numpy(held)]
    else:
        if images.x_test is None or len(images.x_test) == 0:
            raise InvalidInput(f"{images.source} has no test split; use --split holdout")
        x, y = images.x_test, images.y_test
    if eval_images is not None:
        x, y = x[:eval_images], y[:eval_images]
    note = "" if not info or info.get("config", {}).get("data") in (None, images.source) else \
        f"; trained on {info['config']['data']}"
    return EvalSet(x_fit[:bn_images], x, y, mean, std,
                   f"{images.source} [{split}, {len(y)} images; BN on {min(bn_images, len(fit))}{note}]")


def calibration_batches(data: str | Path | ImageData, *, meta: Mapping | None = None,
                        checkpoint: str | Path | None = None, size: int | tuple[int, int] | None = None,
                        n_images: int = 2000, batch_size: int = 100) -> list[torch.Tensor]:
    """Normalized image batches for BN recalibration before export (``export_subnet(calibration=...)``):
    the training part of the split, at ``size`` (default: the images' own size), normalized as the
    checkpoint's training run did (``meta`` of ``load_supernet``, or read from ``checkpoint``)."""
    _check_count("--calibration-images", n_images)
    if meta is None and checkpoint is not None:
        from supernets.checkpoint import read_checkpoint

        meta = {k: v for k, v in read_checkpoint(checkpoint).items() if k != "state_dict"}
    evalset = build_evalset(data, meta=meta, bn_images=n_images)
    x = normalize(evalset.calib, evalset.mean, evalset.std)
    if size is not None:
        x = resize(x, size)
    return [x[i:i + batch_size] for i in range(0, len(x), batch_size)]


def _check_count(option: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidInput(f"{option} must be a whole number of images >= 1, got {value!r}")
