"""``ofa-mbv3-cifar``: once-for-all's elastic dimensions, a stride-1 stem for 32x32 images, 10 classes."""

from __future__ import annotations

import numpy as np
import torch

from search_spaces import get_space, list_spaces
from supernets import create_supernet, list_supernets


def test_registered_with_its_supernet():
    assert "ofa-mbv3-cifar" in list_spaces() and "ofa-mbv3-cifar" in list_supernets()
    space = get_space("ofa-mbv3-cifar")
    imagenet = get_space("ofa-mbv3")
    for key in ("ks", "e", "d"):
        assert space.choice(key) == imagenet.choice(key)
    assert space.choice("r").options == (24, 28, 32) and space.n_genes == 46


def test_stem_keeps_the_input_size_and_the_head_has_10_classes():
    space = get_space("ofa-mbv3-cifar")
    layout = space.layout(space.decode(space.n_options - 1))
    assert layout.stem.stride == 1 and layout.classifier.out_features == 10
    assert layout.blocks[-1].output_size == 2  # 32 -> 16 -> 8 -> 4 -> 4 -> 2
    counts = space.count(np.stack([np.zeros(space.n_genes, dtype=np.int64), space.n_options - 1]))
    assert counts["macs"][0] < counts["macs"][1] < 60e6


def test_supernet_and_extracted_subnet_agree_at_32x32():
    torch.manual_seed(0)
    net = create_supernet("ofa-mbv3-cifar").eval()
    arch = net.space.decode(net.space.sample(1, np.random.default_rng(1))[0])
    arch["r"] = 32
    net.set_active(arch)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        out = net(x)
        assert out.shape == (2, 10)
        torch.testing.assert_close(net.extract(arch).eval()(x), out, atol=1e-5, rtol=1e-5)


def test_ofa_features_bucket_each_resolution():
    space = get_space("ofa-mbv3-cifar")
    genomes = space.sample(30, np.random.default_rng(0))
    X = space.features(genomes, "ofa")
    assert X.shape == (30, 20 * 6 + 3)
    r_onehot = X[:, -3:]
    np.testing.assert_array_equal(r_onehot.argmax(1), genomes[:, space.gene_slices["r"].start])
    assert np.all(r_onehot.sum(1) == 1)


def test_the_small_cifar_space_is_half_width_with_a_stride_2_stem():
    small, full = get_space("ofa-mbv3-cifar-small"), get_space("ofa-mbv3-cifar")
    assert "ofa-mbv3-cifar-small" in list_supernets()
    assert [small.choice(k) for k in ("ks", "e", "d", "r")] == [full.choice(k) for k in ("ks", "e", "d", "r")]
    layout = small.layout(small.decode(small.n_options - 1))
    assert layout.stem.stride == 2 and layout.classifier.out_features == 10
    assert layout.blocks[-1].output_size == 1  # 32 -> 16 -> 8 -> 4 -> 2 -> 2 -> 1
    largest = np.stack([small.n_options - 1])
    assert small.count(largest)["macs"][0] * 8 < full.count(largest)["macs"][0]  # cheap enough for all of CIFAR-10
