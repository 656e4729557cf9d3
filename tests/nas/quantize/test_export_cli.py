"""`nas export` of an S+q subnet: one real int8 file, calibrated on --data; other formats and no data refused."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nas.cli import app
from search_spaces import get_space
from supernets import create_supernet
from supernets.checkpoint import save_checkpoint

DATA = "synthetic:n_train=64,n_test=16,classes=10,size=32,seed=1"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("q")
    save_checkpoint(create_supernet("resnet20-pooling"), folder / "r20.pt")
    space = get_space("resnet20-pooling+q")
    (folder / "arch.json").write_text(json.dumps(space.with_bits(space.base.extremes()[0], 8, 8)))
    return folder


def _export(files, *extra):
    return CliRunner().invoke(app, ["export", "--space", "resnet20-pooling+q", "--arch", str(files / "arch.json"),
                                    "--checkpoint", str(files / "r20.pt"), *extra])


def test_an_int8_subnet_exports_as_torchscript_on_int8_kernels(files):
    out = files / "q8.pt"
    result = _export(files, "--data", DATA, "--calibration-images", "32", "--format", "torchscript",
                     "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["format"] == "torchscript" and info["int8_layers"] == 22 and info["fp32_layers"] == 0
    assert info["top1_agreement"] >= 0.9 and out.is_file()


@pytest.mark.parametrize("extra, message", [
    (["--format", "onnx"], "exports as one int8 file: --format pt2"),
    (["--format", "torchscript"], "is calibrated on training images: pass --data"),
])
def test_other_formats_and_a_missing_calibration_set_are_one_line(files, extra, message):
    result = _export(files, *extra, *(["--data", DATA] if "onnx" in extra else []), "--out", str(files / "x.pt"))
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (files / "x.pt").exists()
