"""Exported subnets load with plain torch in a fresh process and match the eager subnet."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from nas.errors import InvalidInput
from nas.export import companion_paths, export_subnet
from search_spaces.ofa_mbv3_net_config import net_config_to_arch, read_net_config
from supernets import create_supernet

ARCH = {"ks": [7, 3, 5, 5] * 5, "e": [6, 3, 4, 3] * 5, "d": [2, 3, 4, 2, 3], "r": 160}

# loads the file in a process whose sys.path cannot reach this project and checks it never imported it
LOADER = """
import sys, torch
sys.path = [p for p in sys.path if p and 'work/main' not in p and 'site-packages' in p]
m = torch.jit.load(sys.argv[1])
x = torch.randn(2, 3, int(sys.argv[2]), int(sys.argv[2]), generator=torch.Generator().manual_seed(0))
torch.save(m(x), sys.argv[3])
bad = [k for k in sys.modules if k.split('.')[0] in ('nas', 'supernets', 'search_spaces', 'predictors')]
assert not bad, bad
"""


@pytest.fixture(scope="module")
def supernet():
    torch.manual_seed(0)
    return create_supernet("ofa-mbv3").eval()


def test_torchscript_loads_without_the_project(supernet, tmp_path):
    result = export_subnet(supernet, ARCH, tmp_path / "sub.pt")
    assert result.max_abs_error <= 1e-5
    out = tmp_path / "out.pt"
    subprocess.run([sys.executable, "-I", "-c", LOADER, str(result.files["torchscript"]), "160", str(out)],
                   check=True, cwd=tmp_path)
    eager = supernet.extract(ARCH).eval()
    x = torch.randn(2, 3, 160, 160, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        np.testing.assert_allclose(torch.load(out).numpy(), eager(x).numpy(), atol=1e-5)


def test_companion_files(supernet, tmp_path):
    result = export_subnet(supernet, ARCH, tmp_path / "model.pt", formats=("torchscript", "pt2"),
                           calibration=[torch.randn(4, 3, 160, 160)], calibration_images=4)
    paths = companion_paths(tmp_path / "model.pt")
    assert set(result.files) == {"torchscript", "pt2", "json", "net.config"}
    info = json.loads(paths["json"].read_text())
    assert info["arch"] == ARCH and info["bn_recalibrated_images"] == 4
    assert info["params"] > 0 and info["max_abs_error_vs_eager"]["pt2"] <= 1e-5 and info["bn_folded"] > 0
    program = torch.export.load(str(paths["pt2"]))
    assert program.module()(torch.randn(1, 3, 160, 160)).shape == (1, 1000)
    config, _ = read_net_config(paths["net.config"])
    assert net_config_to_arch(supernet.space, config, 160) == supernet.space.canonical_arch(ARCH)
    assert not list(tmp_path.glob(".*tmp*"))


def test_unknown_format(supernet, tmp_path):
    allowed = "torchscript, pt2, onnx, aoti, fused"
    with pytest.raises(InvalidInput, match=f"unknown export format 'tflite'; allowed: {allowed}"):
        export_subnet(supernet, ARCH, tmp_path / "x.pt", formats=("tflite",))
