"""The channel order once-for-all sorts elastic widths into before shrinking them (``re_organize_middle_weights``)."""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["importance_order"]


def importance_order(importance: torch.Tensor, widths: Sequence[int], stage: int = 0) -> torch.Tensor:
    """Channel indices by decreasing ``importance`` (e.g. the L1 norm of the weights that read each channel).

    ``widths`` are the active widths from the largest option down; ``stage`` k > 0 keeps the channels of
    the k largest options in their groups (each group sorted within itself), so that the subnets
    already trained at those widths keep their channels.
    """
    importance = importance.clone()
    if stage > 0:
        right, base = len(importance), -len(widths) * 1e5
        for i in range(stage + 1):
            left = widths[i]
            importance[left:right] += base
            base += 1e5
            right = left
    return torch.argsort(importance, descending=True)
