"""BN folding: outputs unchanged on random BN statistics and affine parameters, no BN left where it could
fold, the subnet given untouched, and BNs that cannot fold (batch statistics) kept and counted."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nas.export import fold_batchnorm
from search_spaces import get_space
from supernets import create_supernet


def _randomize_bn(module: nn.Module, seed: int = 1) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g))
                m.running_var.copy_(torch.rand(n, generator=g) * 2 + 0.1)
                if m.affine:
                    m.weight.copy_(torch.randn(n, generator=g))
                    m.bias.copy_(torch.randn(n, generator=g))


@pytest.mark.parametrize("space_name", ["ofa-mbv3-cifar-small", "resnet20-pooling"])
def test_folding_keeps_outputs_and_removes_every_bn(space_name):
    space = get_space(space_name)
    torch.manual_seed(0)
    arch = space.decode(space.sample(1, np.random.default_rng(2))[0])
    subnet = create_supernet(space).extract(arch).eval()
    _randomize_bn(subnet)
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in subnet.modules())
    x = torch.randn(4, *space.input_shape(arch), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        before = subnet(x)
        folded, report = fold_batchnorm(subnet)
        after = folded(x)
    assert (report.folded, report.left) == (n_bn, 0) and n_bn >= 21
    assert not [m for m in folded.modules() if isinstance(m, nn.BatchNorm2d)]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in subnet.modules()) == n_bn  # the original is untouched
    assert before.abs().max() > 0.1
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(subnet(x), before, atol=0, rtol=0)
    assert not folded.training


def test_a_conv_bn_pair_in_a_sequential_folds_and_batch_statistics_bn_stays():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                        nn.Conv2d(8, 4, 1, bias=False), nn.BatchNorm2d(4, affine=False),
                        nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4, track_running_stats=False)).eval()
    _randomize_bn(net[:5])
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        before = net(x)
        folded, report = fold_batchnorm(net)
        torch.testing.assert_close(folded(x), before, atol=1e-5, rtol=1e-5)
    assert (report.folded, report.left) == (2, 1)
    assert [type(m).__name__ for m in folded] == ["Conv2d", "Identity", "ReLU", "Conv2d", "Identity", "Conv2d",
                                                  "BatchNorm2d"]
    assert folded[3].bias is not None  # the BN's shift became the conv's bias


def test_folding_a_training_mode_net_evaluates_with_running_statistics():
    net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    _randomize_bn(net)
    net.train()
    folded, report = fold_batchnorm(net)
    assert report.folded == 1 and net.training and not folded.training
    x = torch.randn(2, 3, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net.eval()(x), atol=1e-5, rtol=1e-5)
