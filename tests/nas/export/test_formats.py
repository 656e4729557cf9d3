"""Every export format (TorchScript, torch.export, ONNX, AOTInductor, TorchScript on the fused kernels) of one small
subnet: each file runs in
its own runtime, without this project, at any batch size, equal to the eager subnet; a missing runtime or
a failing format is one line and writes nothing.

The AOTInductor package compiles C++ once for the module (resnet20-pooling's smallest subnet, 272k params:
~40-70 s with g++ on a loaded 2-core machine, a few seconds once Inductor's cache holds it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from nas.errors import InvalidInput
from nas.evaluate.bn_recalibration import recalibrate_bn
from nas.export import FORMATS, companion_paths, export_subnet, load_runtime
from search_spaces import get_space
from supernets import create_supernet

ROOT = Path(__file__).resolve().parents[3]
SPACE = "resnet20-pooling"


def _calibration():
    return [torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(3))]


@pytest.fixture(scope="module")
def small():
    space = get_space(SPACE)
    torch.manual_seed(0)
    supernet = create_supernet(space).eval()
    arch = space.decode(np.zeros(space.n_genes, dtype=np.int64))
    eager = supernet.extract(arch)
    recalibrate_bn(eager, _calibration(), 8)
    return supernet, arch, eager.eval()


@pytest.fixture(scope="module")
def exported(small, tmp_path_factory):
    supernet, arch, _ = small
    out = tmp_path_factory.mktemp("formats") / "sub.pt"
    start = time.perf_counter()
    result = export_subnet(supernet, arch, out, formats=FORMATS, calibration=_calibration(), calibration_images=8)
    print(f"\nexport of {', '.join(FORMATS)}: {time.perf_counter() - start:.1f} s")
    return result


def test_files_and_metadata(exported):
    out = exported.files["torchscript"]
    assert exported.files == {k: v for k, v in companion_paths(out, "bms.json").items()}
    assert {k: v.name for k, v in exported.files.items()} == {
        "torchscript": "sub.pt", "pt2": "sub.pt2", "onnx": "sub.onnx", "aoti": "sub.aoti.pt2",
        "fused": "sub.fused.pt", "fused_library": "sub.nas_fused.so", "bms.json": "sub.bms.json",
        "json": "sub.arch.json"}
    info = json.loads(exported.files["json"].read_text())
    assert info["bn_folded"] == 21 and info["bn_unfolded"] == 0 and info["bn_recalibrated_images"] == 8
    assert set(info["max_abs_error_vs_eager"]) == {"bn_fold", *FORMATS}
    assert max(info["max_abs_error_vs_eager"].values()) <= 1e-5 and set(info["fusion"]) == set(FORMATS)
    assert info["onnxruntime"] and info["files"]["aoti"] == "sub.aoti.pt2"
    graph = str(torch.jit.load(str(exported.files["fused"])).graph)
    assert "nas_fused::conv_block" in graph and "conv2d" in graph  # the blocks fused, the stem as it was
    assert not list(out.parent.glob(".*tmp*"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_runtime_equals_eager_at_any_batch(exported, small, fmt):
    run = load_runtime(fmt, exported.files[fmt])
    for batch in (1, 3):
        x = torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            expected = small[2](x)
        assert expected.abs().max() > 0.1  # calibrated BN: outputs of a size that an error would show in
        torch.testing.assert_close(run(x), expected, atol=1e-5, rtol=1e-5)


def test_exported_files_hold_folded_bn(exported):
    import onnx

    model = onnx.load(str(exported.files["onnx"]))
    ops = {node.op_type for node in model.graph.node}
    assert "Conv" in ops and "BatchNormalization" not in ops
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    program = torch.export.load(str(exported.files["pt2"]))
    assert not [n for n in program.graph.nodes if "batch_norm" in str(n.target)]
    graph = str(torch.jit.load(str(exported.files["torchscript"])).graph)
    assert "batch_norm" not in graph and "conv2d" in graph


def test_onnx_runtime_session_optimizes_fully(exported):
    import onnxruntime as ort

    from nas.export.runtimes import ort_session

    options = ort_session(exported.files["onnx"]).get_session_options()
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL


# loads each file with plain torch / onnxruntime in a fresh process, with this project off sys.path (its editable
# install could still import it on demand: the sys.modules check at the end shows that nothing did)
LOADER = r"""
import json, sys
root = sys.argv[1]
sys.path = [p for p in sys.path if p and (not p.startswith(root) or "site-packages" in p)]
import torch, onnxruntime
from torch._inductor import aoti_load_package
files, x = json.loads(sys.argv[2]), torch.load(sys.argv[3])
with torch.no_grad():
    out = {"torchscript": torch.jit.load(files["torchscript"])(x), "pt2": torch.export.load(files["pt2"]).module()(x),
           "aoti": aoti_load_package(files["aoti"])(x)}
session = onnxruntime.InferenceSession(files["onnx"], providers=["CPUExecutionProvider"])
out["onnx"] = torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])
torch.ops.load_library(files["fused_library"])  # the fused kernels: their library, then plain TorchScript
with torch.no_grad():
    out["fused"] = torch.jit.load(files["fused"])(x)
torch.save(out, sys.argv[4])
bad = sorted(k for k in sys.modules if k.split(".")[0] in ("nas", "supernets", "search_spaces", "predictors"))
assert not bad, bad
"""


def test_every_file_loads_without_the_project(exported, small, tmp_path):
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(9))
    torch.save(x, tmp_path / "x.pt")
    files = json.dumps({key: str(path) for key, path in exported.files.items()})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-I", "-c", LOADER, str(ROOT), files, str(tmp_path / "x.pt"),
                           str(tmp_path / "out.pt")], cwd=tmp_path, env=env, timeout=300, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outs = torch.load(tmp_path / "out.pt")
    with torch.no_grad():
        expected = small[2](x)
    assert set(outs) == set(FORMATS)
    for fmt, y in outs.items():
        torch.testing.assert_close(y, expected, atol=1e-5, rtol=1e-5, msg=fmt)


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("module", ["onnxruntime", "onnxscript"])
def test_a_missing_runtime_is_one_line_naming_the_extra(small, tmp_path, monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)  # `import onnxruntime` now raises ImportError
    with pytest.raises(InvalidInput) as info:
        export_subnet(small[0], small[1], tmp_path / "m.pt", formats=("torchscript", "onnx"))
    message = str(info.value)
    assert message == (f"--format onnx needs {module}, which is not installed: pip install 'nas-engine[export]'")
    assert not list(tmp_path.iterdir())


def test_cli_missing_runtime_exits_2_with_one_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from nas.cli import app

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    (tmp_path / "a.json").write_text(json.dumps({"pool": [1, 1, 8]}))
    result = CliRunner().invoke(app, ["export", "--space", SPACE, "--arch", str(tmp_path / "a.json"),
                                      "--format", "onnx", "--out", str(tmp_path / "m.pt")])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert "onnxruntime" in lines[0] and "nas-engine[export]" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_cli_onnx_json_prints_only_json(tmp_path):
    from typer.testing import CliRunner

    from nas.cli import app

    (tmp_path / "a.json").write_text(json.dumps({"pool": [1, 1, 8]}))
    result = CliRunner().invoke(app, ["export", "--space", SPACE, "--arch", str(tmp_path / "a.json"), "--format",
                                      "onnx", "--out", str(tmp_path / "m"), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)  # the exporter's progress lines and warnings stay off stdout
    assert info["files"]["onnx"] == str(tmp_path / "m.onnx") and info["max_abs_error_vs_eager"]["onnx"] <= 1e-5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "m.arch.json", "m.bms.json", "m.onnx"]


def test_a_failing_later_format_writes_nothing(small, tmp_path, monkeypatch):
    from nas.export import subnet as subnet_module

    def broken_aoti(module, program, example, path):
        Path(path).write_bytes(b"not a package")  # the check loads this back and fails

    monkeypatch.setitem(subnet_module._WRITERS, "aoti", broken_aoti)
    (tmp_path / "m.pt").write_bytes(b"an earlier export")
    with pytest.raises(RuntimeError, match="not a ZIP archive"):  # aoti_load_package on the broken file
        export_subnet(small[0], small[1], tmp_path / "m.pt", formats=("torchscript", "pt2", "aoti"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]  # no .pt2, no JSON, no temp files
    assert (tmp_path / "m.pt").read_bytes() == b"an earlier export"


def test_fused_format_without_the_kernels_is_one_line(small, tmp_path, monkeypatch):
    from nas.hardware.fused import _ext

    monkeypatch.setattr(_ext, "error", lambda: "no C++ compiler: c++ not found on PATH")
    with pytest.raises(InvalidInput) as info:
        export_subnet(small[0], small[1], tmp_path / "m.pt", formats=("torchscript", "fused"))
    assert str(info.value) == ("--format fused needs the engine's fused kernels, which did not build here: "
                               "no C++ compiler: c++ not found on PATH")
    assert not list(tmp_path.iterdir())


def test_companion_paths_keep_dots_in_the_stem(tmp_path):
    paths = companion_paths(tmp_path / "sub.v1.pt", None)
    assert [p.name for p in paths.values()] == ["sub.v1.pt", "sub.v1.pt2", "sub.v1.onnx", "sub.v1.aoti.pt2",
                                                "sub.v1.fused.pt", "sub.v1.nas_fused.so", "sub.v1.arch.json"]
    assert companion_paths(tmp_path / "sub.onnx", None)["aoti"].name == "sub.aoti.pt2"
