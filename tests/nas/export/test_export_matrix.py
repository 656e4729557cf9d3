"""Every space with a supernet: the exported TorchScript reloads without this project and agrees with the
eager subnet; ``.pt2`` (torch.export, ~20 s a network here) once per family that test_subnet_export lacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nas.export import export_subnet
from search_spaces import get_space
from supernets import create_supernet, list_supernets
from tests.matrix import matrix_spaces


def _export(space_name: str, tmp_path, formats):
    space = get_space(space_name)
    key = space.resolution_key
    supernet = create_supernet(space).eval()
    arch = space.decode(space.sample(1, np.random.default_rng(4))[0])
    arch |= {key: min(space.choice(key).options)} if key else {}
    result = export_subnet(supernet, arch, tmp_path / "subnet.pt", formats=formats)
    x = torch.randn(3, *space.input_shape(arch))
    with torch.no_grad():
        eager = supernet.extract(arch).eval()(x)
    assert result.metadata["macs"] == space.count(space.encode(arch)[None])["macs"][0]
    return result, x, eager


@pytest.mark.parametrize("space_name", matrix_spaces(list_supernets()))
def test_torchscript_reloads_equal_to_eager(space_name, tmp_path):
    result, x, eager = _export(space_name, tmp_path, ("torchscript",))
    with torch.no_grad():
        torch.testing.assert_close(torch.jit.load(str(result.files["torchscript"]))(x), eager, atol=1e-5, rtol=1e-5)


def test_pt2_of_a_resnet_reloads_equal_to_eager(tmp_path):
    result, x, eager = _export("ofa-resnet50-cifar", tmp_path, ("pt2",))
    with torch.no_grad():
        torch.testing.assert_close(torch.export.load(str(result.files["pt2"])).module()(x), eager, atol=1e-5, rtol=1e-5)
