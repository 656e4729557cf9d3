"""Subnet accuracy: extract the subnet, recalibrate its BN statistics (once-for-all's method), then
measure top-1 on held-out images at the subnet's input resolution.

The supernet itself is never modified (its BN statistics stay those of training), so measuring
during training changes nothing about the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping, Protocol, Sequence

import numpy as np
import torch
from torch import nn

from search_spaces import Arch, SearchSpace, family_of, get_space
from search_spaces.errors import InvalidInput
from search_spaces.names import split_overlays
from supernets import Supernet

from ..data import normalize, resize
from .bn_recalibration import recalibrate_bn

__all__ = ["EvalSet", "SubnetTransform", "subnet_transform", "subnet_accuracy", "evaluate_archs"]


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


class SubnetTransform(Protocol):
    """A step between extraction (+ BN recalibration) and evaluation, for archs of an overlay space whose
    supernet is the base's (``S+q``: post-training quantization, ``nas.quantize.measure.PTQTransform``)."""

    space: SearchSpace  # the space the archs are in (the overlay)

    def base_arch(self, arch: Mapping) -> Arch:
        """The arch the supernet extracts (in its own space)."""

    def __call__(self, subnet: nn.Module, arch: Arch, calibration: torch.Tensor) -> nn.Module:
        """The network to evaluate, from the recalibrated eval-mode ``subnet`` of ``arch`` (an overlay arch)
        and normalized calibration images from the training split at its input size."""


def subnet_transform(space: str | SearchSpace | None) -> SubnetTransform | None:
    """The transform measuring archs of ``space`` needs: ``None`` for a plain space; the overlay's for ``S+o``."""
    if space is None:
        return None
    name = space if isinstance(space, str) else space.name
    overlays = split_overlays(family_of(name))[1]
    if not overlays:
        return None
    if overlays == ("q",):
        from ..quantize.measure import PTQTransform

        return PTQTransform(get_space(name) if isinstance(space, str) else space)
    raise InvalidInput(f"measured accuracy has no step for the overlay +{'+'.join(overlays)} of {name}")


@torch.no_grad()
def subnet_accuracy(supernet: Supernet, arch: Mapping, evalset: EvalSet, bn_images: int = 2000,
                    batch_size: int = 256, transform: SubnetTransform | None = None) -> float:
    """Top-1 accuracy (%) of ``arch`` after BN recalibration on ``bn_images`` calibration images (and, for an
    overlay space, its ``transform``: ``arch`` is then in ``transform.space``)."""
    full = transform.space.validate(arch) if transform is not None else None
    arch = supernet.space.validate(transform.base_arch(full) if transform is not None else arch)
    device = next(supernet.parameters()).device
    sub = supernet.extract(arch)
    calib, images = evalset.at(supernet.input_size(arch))
    recalibrate_bn(sub, _batches(calib, batch_size), min(bn_images, len(calib)))
    sub.eval()
    if transform is not None:
        sub = transform(sub, full, calib[:bn_images].to(device))
    correct = 0
    for i in range(0, len(images), batch_size):
        logits = sub(images[i:i + batch_size].to(device))
        correct += int((logits.argmax(1).cpu() == evalset.labels[i:i + batch_size]).sum())
    return 100.0 * correct / len(images)


def evaluate_archs(supernet: Supernet, archs: Iterable[Mapping], evalset: EvalSet, bn_images: int = 2000,
                   batch_size: int = 256, on_done: Callable[[int, float], None] | None = None,
                   transform: SubnetTransform | None = None) -> np.ndarray:
    """Accuracy (%) of each arch; archs are visited grouped by input size to reuse prepared images."""
    space = transform.space if transform is not None else supernet.space
    archs: list[Arch] = [space.validate(a) for a in archs]
    base = [transform.base_arch(a) for a in archs] if transform is not None else archs
    order = sorted(range(len(archs)), key=lambda i: supernet.input_size(base[i]))
    out = np.zeros(len(archs), dtype=np.float64)
    for done, i in enumerate(order):
        out[i] = subnet_accuracy(supernet, archs[i], evalset, bn_images, batch_size, transform)
        if on_done is not None:
            on_done(done + 1, out[i])
    return out
