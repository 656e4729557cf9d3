"""A tiny quantizable subnet: a random ResNet20-pooling supernet's largest subnet, BN recalibrated on
synthetic images (normalized, 32x32)."""

from __future__ import annotations

import pytest
import torch

import supernets
from nas.data import normalize
from nas.data.images import channel_stats, synthetic_images
from nas.evaluate import recalibrate_bn
from nas.quantize import split_arch
from search_spaces import get_space

SPACE = "resnet20-pooling+q"


@pytest.fixture(scope="session")
def qspace():
    return get_space(SPACE)


@pytest.fixture(scope="session")
def images():
    data = synthetic_images(n_train=256, n_test=0, seed=3)
    mean, std = channel_stats(data.x_train)
    return normalize(data.x_train, mean, std)


@pytest.fixture(scope="session")
def subnet(qspace, images):
    """(space, fp32 arch, static net in eval mode with recalibrated BN)."""
    torch.manual_seed(0)
    supernet = supernets.create_supernet(SPACE).eval()
    arch = qspace.with_bits(qspace.base.extremes()[0], 32, 32)
    base, _ = split_arch(qspace, arch)
    net = supernet.extract(base)
    recalibrate_bn(net, [images[:128], images[128:]], 256)
    return supernet, base, net.eval()
