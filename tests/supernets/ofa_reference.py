"""Helpers to compare with once-for-all's reference package (imported with a stub torchvision)."""

from __future__ import annotations

import sys
import types

import torch

from supernets import create_supernet
from supernets.compat.ofa_mbv3 import to_ofa_state_dict
from supernets.compat.ofa_resnet50 import to_ofa_resnet_state_dict


def stub_torchvision() -> None:
    """A stub ``torchvision`` (once-for-all imports it; PyPI's does not import beside torch 2.13)."""
    if "torchvision" in sys.modules:
        return
    tv = types.ModuleType("torchvision")
    tv.transforms = types.ModuleType("torchvision.transforms")
    tv.datasets = types.ModuleType("torchvision.datasets")
    tv.transforms.functional = types.ModuleType("torchvision.transforms.functional")

    class _Unused:  # once-for-all subclasses these at import time only
        pass

    tv.transforms.RandomResizedCrop = tv.transforms.RandomCrop = _Unused
    for name, module in (("torchvision", tv), ("torchvision.transforms", tv.transforms),
                         ("torchvision.datasets", tv.datasets),
                         ("torchvision.transforms.functional", tv.transforms.functional)):
        sys.modules[name] = module


def import_reference(class_name: str = "OFAMobileNetV3"):
    """once-for-all's ``OFAMobileNetV3`` (or ``OFAResNets``) class, or None when the package is not installed."""
    stub_torchvision()
    try:
        from ofa.imagenet_classification.elastic_nn import networks
    except ImportError:
        return None
    return getattr(networks, class_name)


def seeded_ofa_state_dict(space: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """A deterministic once-for-all-format state dict with non-trivial values (BN stats included)."""
    convert = to_ofa_resnet_state_dict if space.startswith("ofa-resnet50") else to_ofa_state_dict
    shapes = {k: v.shape for k, v in convert(create_supernet(space)).items()}
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key in sorted(shapes):
        shape = shapes[key]
        if key.endswith("num_batches_tracked"):
            out[key] = torch.zeros(shape, dtype=torch.long)
        elif key.endswith("running_var"):
            out[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            out[key] = torch.randn(shape, generator=gen) * 0.1
    return out
