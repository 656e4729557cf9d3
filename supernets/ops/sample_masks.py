"""Per-sample masks of a multi-architecture batch: the archs run on consecutive slices of the batch, so
a setting (active channels, heads, a kept block) becomes one row per sample."""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["prefix_mask", "flag_mask"]


def prefix_mask(active: Sequence[int], sizes: Sequence[int], width: int, repeat: int = 1) -> torch.Tensor:
    """``[sum(sizes), 1, width * repeat]`` float: sample ``n`` of slice ``i`` has its first ``active[i]`` units on;
    ``repeat`` > 1 spreads each unit over that many consecutive channels (a head over its head dim)."""
    units = torch.arange(width).unsqueeze(0) < torch.tensor(list(active)).unsqueeze(1)  # [K, width]
    rows = units.repeat_interleave(torch.tensor(list(sizes)), dim=0)
    if repeat > 1:
        rows = rows.repeat_interleave(repeat, dim=1)
    return rows.to(torch.float32).unsqueeze(1)


def flag_mask(flags: Sequence[bool], sizes: Sequence[int]) -> torch.Tensor:
    """``[sum(sizes), 1, 1]`` float: 1 for the samples of the slices whose flag is set."""
    return torch.tensor([float(f) for f in flags]).repeat_interleave(torch.tensor(list(sizes))).view(-1, 1, 1)
