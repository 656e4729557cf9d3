"""Bad input across families: an arch of one family given to another, a checkpoint of one family given to
another's supernet. Each is one error line naming the field, the value and what is allowed; exit code 2."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from nas.cli import app
from search_spaces import get_space
from supernets import create_supernet
from supernets.checkpoint import save_checkpoint
from supernets.compat.ofa_mbv3 import to_ofa_state_dict
from supernets.compat.ofa_resnet50 import to_ofa_resnet_state_dict

runner = CliRunner()


def _fails(*args) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    resnet = get_space("ofa-resnet50").extremes()[1]
    mbv3 = get_space("ofa-mbv3").extremes()[1]
    (root / "resnet.json").write_text(json.dumps(resnet))
    (root / "mbv3.json").write_text(json.dumps(mbv3))
    (root / "resnet_with_mbv3_e.json").write_text(json.dumps({**resnet, "e": [3] * 18}))
    (root / "nb201_with_r.json").write_text(json.dumps({"ops": ["none"] * 6, "r": 224}))
    torch.save({"state_dict": to_ofa_state_dict(create_supernet("ofa-mbv3"))}, root / "ofa_mbv3.pth")
    torch.save({"state_dict": to_ofa_resnet_state_dict(create_supernet("ofa-resnet50"))}, root / "ofa_resnet.pth")
    save_checkpoint(create_supernet("ofa-resnet50"), root / "ours_resnet.pt")
    return root


def test_arch_reads_a_resnet(files):
    result = runner.invoke(app, ["arch", str(files / "resnet.json"), "--space", "ofa-resnet50", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    space = get_space("ofa-resnet50")
    counts = space.count(space.encode(info["arch"])[None])
    assert (info["macs"], info["params"]) == (counts["macs"][0], counts["params"][0]) and "|w:" in info["arch_id"]


def test_archs_of_another_family(files):
    line = _fails("arch", files / "resnet_with_mbv3_e.json", "--space", "ofa-resnet50")
    assert "e[0]=3 is not allowed in space ofa-resnet50; allowed values: 0.2, 0.25, 0.35" in line
    line = _fails("arch", files / "nb201_with_r.json", "--space", "nas-bench-201")
    assert "unknown key 'r' for space nas-bench-201; expected keys: ops" in line
    line = _fails("arch", files / "resnet.json", "--space", "ofa-mbv3")
    assert "unknown key 'w' for space ofa-mbv3; expected keys: ks, e, d, r" in line


def test_checkpoints_of_another_family(files, tmp_path):
    line = _fails("export", "--space", "ofa-resnet50", "--arch", files / "resnet.json", "--checkpoint",
                  files / "ofa_mbv3.pth", "--out", tmp_path / "a.pt")
    assert "is a once-for-all OFAMobileNetV3 state dict; supernet ofa-resnet50 loads" in line
    line = _fails("export", "--space", "ofa-mbv3", "--arch", files / "mbv3.json", "--checkpoint",
                  files / "ofa_resnet.pth", "--out", tmp_path / "b.pt")
    assert "is a once-for-all OFAResNets state dict; supernet ofa-mbv3 loads" in line
    line = _fails("export", "--space", "ofa-mbv3", "--arch", files / "mbv3.json", "--checkpoint",
                  files / "ours_resnet.pt", "--out", tmp_path / "c.pt")
    assert "made for space ofa-resnet50, not ofa-mbv3" in line
    assert not list(tmp_path.iterdir())  # nothing half-written
