"""Removable residual blocks: a subnet may skip the whole block. Single architecture: ``kept`` False
returns the input untouched (nothing runs). Multi-architecture batch: a per-sample keep mask
``[B, 1, 1]`` multiplies every residual branch, so a removed sample leaves the block as it came in.
A block that is not ``removable`` always runs."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["RemovableBlock"]


class RemovableBlock(nn.Module):
    def __init__(self, removable: bool):
        super().__init__()
        self.removable = removable
        self.kept = True

    def set_kept(self, kept: bool) -> None:
        if not kept and not self.removable:
            raise ValueError("this block cannot be removed")
        self.kept = bool(kept)

    @staticmethod
    def gate(out_mask: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        """The mask a residual branch is multiplied by: the active channels of the kept samples."""
        return out_mask if keep is None else out_mask * keep
