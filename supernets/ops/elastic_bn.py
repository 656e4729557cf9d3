"""Batch norm over a prefix of its channels."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ElasticBatchNorm2d", "copy_bn"]


class ElasticBatchNorm2d(nn.BatchNorm2d):
    """Normalizes the first ``x.size(1)`` channels with the matching slice of weights and statistics.

    In training mode the running statistics of that slice are updated in place, as in once-for-all.
    In inference (eval, no autograd) the slices are cached, keyed by the channel count and storage.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._slices: tuple | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.size(1)
        if c == self.num_features:
            return super().forward(x)
        if self.training or torch.is_grad_enabled():
            return F.batch_norm(x, *self.active_params(c), self.training, self._momentum(), self.eps)
        key = (c, self.running_mean.data_ptr(), self.running_var.data_ptr(), self.weight.data_ptr(),
               self.bias.data_ptr())
        if self._slices is None or self._slices[0] != key:
            self._slices = (key, self.active_params(c))
        return F.batch_norm(x, *self._slices[1], False, 0.0, self.eps)

    def active_params(self, c: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """running mean, running var, weight, bias of the first ``c`` channels (views)."""
        return self.running_mean[:c], self.running_var[:c], self.weight[:c], self.bias[:c]

    def _momentum(self) -> float:
        if not self.training:
            return 0.0
        self.num_batches_tracked.add_(1)
        if self.momentum is None:  # cumulative moving average
            return 1.0 / float(self.num_batches_tracked)
        return self.momentum


@torch.no_grad()
def copy_bn(target: nn.BatchNorm2d, source: nn.BatchNorm2d, channels: int) -> None:
    """Copy the first ``channels`` of ``source`` (statistics, affine parameters, settings) into a static BN."""
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(target, name).copy_(getattr(source, name)[:channels])
    target.num_batches_tracked.copy_(source.num_batches_tracked)
    target.momentum, target.eps = source.momentum, source.eps
