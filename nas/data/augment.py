"""Standard CIFAR augmentation as batched torch ops (no torchvision): random crop with zero padding,
horizontal flip, normalization, and resizing to a subnet's input resolution.

Random parameters are drawn for the whole global batch from one seeded generator, so a rank that
processes a slice of the batch sees exactly the images a single process would.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

__all__ = ["augment", "normalize", "resize"]


def augment(images: torch.Tensor, generator: torch.Generator, padding: int = 4, flip: bool = True) -> torch.Tensor:
    """uint8 ``[B, C, H, W]`` -> uint8 of the same shape, each image randomly shifted and flipped."""
    b, c, h, w = images.shape
    if padding > 0:
        padded = F.pad(images, (padding, padding, padding, padding))
        dy = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
        dx = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
        rows = (dy[:, None] + torch.arange(h))[:, :, None]  # [B, H, 1]
        cols = (dx[:, None] + torch.arange(w))[:, None, :]  # [B, 1, W]
        batch = torch.arange(b)[:, None, None]
        images = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
    if flip:
        mirror = torch.rand(b, generator=generator) < 0.5
        images = torch.where(mirror[:, None, None, None], images.flip(3), images)
    return images.contiguous()


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
