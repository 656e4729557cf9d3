"""BN recalibration: per-batch statistics averaged over the images, as once-for-all computes them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nas.errors import InvalidInput
from nas.evaluate import recalibrate_bn
from supernets import create_supernet
from tests.supernets.ofa_reference import import_reference

ARCH = {"ks": [3, 5, 7, 5] * 5, "e": [4, 6, 3, 4] * 5, "d": [3, 4, 2, 3, 2], "r": 128}


def batches(n_batches=3, size=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(size, 3, 128, 128, generator=gen) * 2 + 0.5, torch.zeros(size)) for _ in range(n_batches)]


@pytest.fixture(scope="module")
def supernet():
    torch.manual_seed(0)
    return create_supernet("ofa-mbv3")


def test_first_layer_statistics_are_exact(supernet):
    sub = supernet.extract(ARCH).eval()
    data = batches()
    used = recalibrate_bn(sub, data, n_images=1000)
    assert used == 12
    with torch.no_grad():
        feats = [sub.stem.conv(x) for x, _ in data]
    means = torch.stack([f.mean(dim=(0, 2, 3)) for f in feats]).mean(0)
    variances = torch.stack([f.var(dim=(0, 2, 3), unbiased=False) for f in feats]).mean(0)
    torch.testing.assert_close(sub.stem.bn.running_mean, means, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(sub.stem.bn.running_var, variances, atol=1e-5, rtol=1e-5)
    assert not sub.training  # the previous mode is restored


def test_in_supernet_equals_on_extracted_subnet(supernet):
    data = batches(seed=1)
    sub = supernet.extract(ARCH)
    recalibrate_bn(sub, data)
    state = {k: v.clone() for k, v in supernet.state_dict().items()}
    try:
        supernet.set_active(ARCH)
        recalibrate_bn(supernet, data)
        again = supernet.extract(ARCH).eval()
        x = data[0][0]
        with torch.no_grad():
            np.testing.assert_allclose(again(x).numpy(), sub.eval()(x).numpy(), atol=1e-4)
    finally:
        supernet.load_state_dict(state)


def test_image_budget_and_empty_iterator(supernet):
    sub = supernet.extract(ARCH)
    assert recalibrate_bn(sub, batches(n_batches=5), n_images=6) == 6
    with pytest.raises(InvalidInput, match="no images"):
        recalibrate_bn(sub, [])


def test_matches_once_for_all_set_running_statistics(supernet):
    if import_reference() is None:
        pytest.skip("once-for-all reference package not installed")
    from ofa.imagenet_classification.elastic_nn.utils import set_running_statistics

    data = batches(seed=2)
    ours, theirs = supernet.extract(ARCH), supernet.extract(ARCH)
    recalibrate_bn(ours, data)
    set_running_statistics(theirs, data)
    for (name, a), b in zip(ours.named_buffers(), theirs.buffers()):
        if "running" in name:
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4, msg=name)
