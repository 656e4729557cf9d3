"""Subnet accuracy: extract the subnet, recalibrate its BN statistics (once-for-all's method), then
measure top-1 on held-out images at the subnet's input resolution.

The supernet itself is never modified (its BN statistics stay those of training), so measuring
during training changes nothing about the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import torch

from search_spaces import Arch
from search_spaces.errors import InvalidInput
from supernets import Supernet

from ..data import normalize, resize
from .bn_recalibration import recalibrate_bn

__all__ = ["EvalSet", "subnet_accuracy", "evaluate_archs"]


@dataclass
class EvalSet:
    """Images for BN recalibration (``calib``) and for measuring accuracy (``images``, ``labels``), as
    uint8 ``[N, 3, H, W]``, with the normalization the supernet was trained with."""

    calib: torch.Tensor
    images: torch.Tensor
    labels: torch.Tensor
    mean: Sequence[float]
    std: Sequence[float]
    description: str = ""
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if len(self.calib) == 0 or len(self.images) == 0:
            raise InvalidInput(f"evaluation needs calibration and evaluation images "
                               f"({self.description or 'empty set'})")

    def at(self, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalized (calibration, evaluation) images at ``size`` (H, W), built once per size."""
        if size not in self._cache:
            self._cache.clear()  # keep one size: archs are grouped by input size
            self._cache[size] = tuple(_prepared(x, self.mean, self.std, size) for x in (self.calib, self.images))
        return self._cache[size]


def _prepared(x: torch.Tensor, mean, std, size: tuple[int, int], chunk: int = 2048) -> torch.Tensor:
    return torch.cat([resize(normalize(x[i:i + chunk], mean, std), size) for i in range(0, len(x), chunk)])


def _batches(x: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    for i in range(0, len(x), batch_size):
        yield x[i:i + batch_size]


@torch.no_grad()
def subnet_accuracy(supernet: Supernet, arch: Mapping, evalset: EvalSet, bn_images: int = 2000,
                    batch_size: int = 256) -> float:
    """Top-1 accuracy (%) of ``arch`` after BN recalibration on ``bn_images`` calibration images."""
    arch = supernet.space.validate(arch)
    device = next(supernet.parameters()).device
    sub = supernet.extract(arch)
    calib, images = evalset.at(supernet.input_size(arch))
    recalibrate_bn(sub, _batches(calib, batch_size), min(bn_images, len(calib)))
    sub.eval()
    correct = 0
    for i in range(0, len(images), batch_size):
        logits = sub(images[i:i + batch_size].to(device))
        correct += int((logits.argmax(1).cpu() == evalset.labels[i:i + batch_size]).sum())
    return 100.0 * correct / len(images)


def evaluate_archs(supernet: Supernet, archs: Iterable[Mapping], evalset: EvalSet, bn_images: int = 2000,
                   batch_size: int = 256, on_done: Callable[[int, float], None] | None = None) -> np.ndarray:
    """Accuracy (%) of each arch; archs are visited grouped by input size to reuse prepared images."""
    archs: list[Arch] = [supernet.space.validate(a) for a in archs]
    order = sorted(range(len(archs)), key=lambda i: supernet.input_size(archs[i]))
    out = np.zeros(len(archs), dtype=np.float64)
    for done, i in enumerate(order):
        out[i] = subnet_accuracy(supernet, archs[i], evalset, bn_images, batch_size)
        if on_done is not None:
            on_done(done + 1, out[i])
    return out
