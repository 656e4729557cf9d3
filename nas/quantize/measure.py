"""Measured accuracy of ``S+q`` subnets: the hook ``nas.evaluate`` runs between extraction and evaluation.

A checkpoint trained for ``S`` serves ``S+q``: the meter extracts the base arch and recalibrates BN as for
``S``, then ``PTQTransform`` quantizes the subnet with the arch's bits (``quantize_subnet``; activation
ranges from ``PTQ_IMAGES`` of the calibration images, which come from the training part of the split), and
the fake-quant model is evaluated on the held-out images.
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from search_spaces import Arch
from search_spaces.errors import InvalidInput
from search_spaces.quantization import QuantizedSpace

from .observers import OBSERVERS
from .policy import require_quantized, split_arch
from .ptq import quantize_subnet

__all__ = ["PTQTransform", "PTQ_IMAGES"]

PTQ_IMAGES = 512  # calibration images for the activation observers (BN recalibration takes its own count)


class PTQTransform:
    """``nas.evaluate.accuracy.SubnetTransform`` for an ``S+q`` space: post-training quantization."""

    def __init__(self, space: QuantizedSpace, observer: str = "minmax", images: int = PTQ_IMAGES,
                 batch_size: int = 128):
        if not isinstance(space, QuantizedSpace):
            raise InvalidInput(f"post-training quantization needs an S+q space, not {space.name}")
        if observer not in OBSERVERS:
            raise InvalidInput(f"unknown observer {observer!r}; allowed: {', '.join(OBSERVERS)}")
        self.space, self.observer, self.images, self.batch_size = space, observer, images, batch_size

    def base_arch(self, arch: Mapping) -> Arch:
        return split_arch(self.space, arch)[0]

    def __call__(self, subnet: nn.Module, arch: Arch, calibration: torch.Tensor) -> nn.Module:
        _, policy = split_arch(self.space, require_quantized(self.space, arch))
        x = calibration[:self.images]
        return quantize_subnet(subnet, policy, [x[i:i + self.batch_size] for i in range(0, len(x), self.batch_size)],
                               self.observer)
