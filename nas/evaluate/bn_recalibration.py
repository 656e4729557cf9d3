"""Batch-norm recalibration (once-for-all's method).

A subnet taken from a supernet inherits running statistics gathered for other subnets. Before its
accuracy is measured or it is exported, every BN layer's running mean and variance are replaced by
the per-batch statistics (mean and biased variance of the layer's input, computed while the
network normalizes with batch statistics) averaged over ``n_images`` images, weighted by batch size.
Works on extracted static subnets and on a supernet with an active subnet (only the active
channel prefix of each elastic BN is rewritten).
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from search_spaces.errors import InvalidInput

__all__ = ["recalibrate_bn"]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: Iterable, n_images: int = 2000) -> int:
    """Recalibrate ``model``'s BN statistics in place over up to ``n_images`` images.

    ``batches`` yields image tensors or ``(images, labels)`` pairs. Returns the number of images used.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not bns:
        return 0
    sums: dict[nn.Module, list] = {bn: [None, None, 0] for bn in bns}

    def collect(bn, inputs):
        x = inputs[0]
        mean = x.mean(dim=(0, 2, 3))
        var = ((x - mean[None, :, None, None]) ** 2).mean(dim=(0, 2, 3))
        acc = sums[bn]
        n = x.size(0)
        acc[0] = mean * n if acc[0] is None else acc[0] + mean * n
        acc[1] = var * n if acc[1] is None else acc[1] + var * n
        acc[2] += n

    handles = [bn.register_forward_pre_hook(collect) for bn in bns]
    modes = {m: m.training for m in model.modules()}
    saved = {bn: (bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone()) for bn in bns}
    device = next(model.parameters()).device
    seen = 0
    try:
        model.train()  # BN normalizes with batch statistics, as during training
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.eval()
        for batch in batches:
            images = batch[0] if isinstance(batch, (tuple, list)) else batch
            if seen >= n_images:
                break
            images = images[: n_images - seen].to(device)
            model(images)
            seen += images.size(0)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.train(mode)
    if seen == 0:
        raise InvalidInput("BN recalibration got no images: the data iterator is empty")
    for bn in bns:
        mean, var, n = sums[bn]
        running_mean, running_var, tracked = saved[bn]
        bn.running_mean.copy_(running_mean)
        bn.running_var.copy_(running_var)
        bn.num_batches_tracked.copy_(tracked)
        if n:
            c = mean.numel()
            bn.running_mean[:c] = mean / n
            bn.running_var[:c] = var / n
    return seen
