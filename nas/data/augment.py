"""Standard CIFAR augmentation as batched torch ops (no torchvision): random crop with zero padding,
horizontal flip, normalization, resizing to a subnet's input resolution, and DeiT's mixup / cutmix
(batch mode: one mixing weight per batch, each image mixed with the batch reversed; soft targets).

Random parameters are drawn for the whole global batch from one seeded generator, so a rank that
processes a slice of the batch sees exactly the images a single process would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["PAD_MODES", "augment", "normalize", "resize", "Mixing", "mix_batch", "one_hot"]


PAD_MODES = ("zeros", "reflect")


def augment(images: torch.Tensor, generator: torch.Generator, padding: int = 4, flip: bool = True,
            pad_mode: str = "zeros") -> torch.Tensor:
    """uint8 ``[B, C, H, W]`` -> uint8 of the same shape, each image randomly shifted and flipped. The shift
    fills what it uncovers with zeros (the usual CIFAR recipe) or, ``pad_mode="reflect"``, with the image
    mirrored at its edge, so no training image has the black band that clean test images never have."""
    if pad_mode not in PAD_MODES:
        raise ValueError(f"pad_mode {pad_mode!r}; allowed: {', '.join(PAD_MODES)}")
    b, c, h, w = images.shape
    if pad_mode == "reflect" and padding >= min(h, w):
        raise ValueError(f"reflect padding of {padding} needs images larger than that, got {h}x{w}")
    if padding > 0:
        dy = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
        dx = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
        rows = (dy[:, None] + torch.arange(h))[:, :, None]  # [B, H, 1], in padded coordinates
        cols = (dx[:, None] + torch.arange(w))[:, None, :]  # [B, 1, W]
        batch = torch.arange(b)[:, None, None]
        if pad_mode == "zeros":
            padded = F.pad(images, (padding, padding, padding, padding))
        else:  # index the image itself, reflecting out-of-range rows and columns (no edge repeat)
            padded, rows, cols = images, _reflect(rows - padding, h), _reflect(cols - padding, w)
        images = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
    if flip:
        mirror = torch.rand(b, generator=generator) < 0.5
        images = torch.where(mirror[:, None, None, None], images.flip(3), images)
    return images.contiguous()


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    """Indices in [-size+1, 2*size-2] mirrored into [0, size-1] as ``numpy.pad(mode="reflect")`` does."""
    index = index.abs()
    return torch.where(index > size - 1, 2 * (size - 1) - index, index)


def normalize(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 images -> float32 ``(x / 255 - mean) / std`` per channel."""
    m = torch.tensor(mean, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    return (images.float() / 255.0 - m) / s


def resize(images: torch.Tensor, size: int | Sequence[int]) -> torch.Tensor:
    """Bring float images to ``size`` (an int for square, or (height, width)); antialiased bilinear when
    shrinking."""
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if images.shape[-2] == h and images.shape[-1] == w:
        return images
    shrink = h < images.shape[-2] or w < images.shape[-1]
    return F.interpolate(images, size=(h, w), mode="bilinear", align_corners=False, antialias=shrink)


@dataclass(frozen=True)
class Mixing:
    """Mixup / cutmix settings (timm's ``Mixup`` in batch mode, as DeiT uses it: mixup 0.8, cutmix 1.0,
    switch probability 0.5). An alpha of 0 turns that kind off; both 0: no mixing."""

    mixup: float = 0.0  # Beta(alpha, alpha) concentration of mixup's weight
    cutmix: float = 0.0  # the same for cutmix's box area
    switch_prob: float = 0.5  # with both on: the chance of cutmix instead of mixup
    prob: float = 1.0  # the chance that a batch is mixed at all

    @property
    def active(self) -> bool:
        return (self.mixup > 0 or self.cutmix > 0) and self.prob > 0


def one_hot(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(labels.long(), n_classes).float()


def mix_batch(images: torch.Tensor, labels: torch.Tensor, n_classes: int, mixing: Mixing,
              generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Float ``[B, C, H, W]`` images and class labels ``[B]`` -> mixed images and soft targets
    ``[B, n_classes]``: ``lam * x + (1 - lam) * x.flip(0)`` (mixup) or a box of ``x.flip(0)`` pasted into
    ``x`` (cutmix; lam is then the share of ``x`` left), targets mixed with the same lam. Mixing commutes
    with per-channel normalization, so it may run before or after it. Every draw comes from
    ``generator``: the global batch mixes identically on every rank."""
    targets = one_hot(labels, n_classes).to(images.device)
    if not mixing.active:
        return images, targets
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    rng = np.random.default_rng(seed)
    if rng.random() >= mixing.prob:
        return images, targets
    use_cutmix = mixing.cutmix > 0 and (mixing.mixup <= 0 or rng.random() < mixing.switch_prob)
    alpha = mixing.cutmix if use_cutmix else mixing.mixup
    lam = float(rng.beta(alpha, alpha))
    partner = images.flip(0)
    if use_cutmix:
        h, w = images.shape[-2:]
        cut = math.sqrt(1.0 - lam)
        ch, cw = int(h * cut), int(w * cut)
        cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
        y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
        x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
        images = images.clone()
        images[..., y0:y1, x0:x1] = partner[..., y0:y1, x0:x1]
        lam = 1.0 - (y1 - y0) * (x1 - x0) / float(h * w)  # the share actually left
    else:
        images = images * lam + partner * (1.0 - lam)
    return images, targets * lam + targets.flip(0) * (1.0 - lam)
