"""The one runtime registry (nas.hardware.runtimes): every runtime agrees with eager, a missing one is
refused in one line, tables and targets say which runtime they mean, and the aoti table is fitted
from whole subnets (here with a fake timer: an AOTInductor compile takes tens of seconds)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from nas.cli import app
from nas.hardware import latency_api, local, opbench, profiling, runtimes
from nas.hardware.model import LatencyModel
from nas.hardware.table import read_table
from search_spaces.errors import InvalidInput
from supernets.static.oplib import build_op

from .conftest import TINY, synthetic_table

runner = CliRunner()


def _block(space, index: int = 2):
    """A small inverted-residual block of the tiny space (expand -> depthwise -> project), BN statistics random."""
    ops = [op for op in space.structure("block").unique_ops().values() if op.kind == "mbconv"]
    module, (c, h, w) = build_op(ops[index].as_spec(), 1)
    torch.manual_seed(0)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    return module.eval(), torch.randn(1, c, h, w)


def _skip_unless(name: str) -> None:
    reason = runtimes.available(name)
    if reason is not None:
        pytest.skip(reason)


@pytest.mark.parametrize("name", ["eager", "torchscript", "onnxruntime", "fused"])
def test_each_runtime_agrees_with_eager(name, tiny_space):
    _skip_unless(name)
    module, x = _block(tiny_space)
    with torch.no_grad():
        expected = module(x)
        got = runtimes.prepare(name, module, x, threads=1)(x)
    assert got.shape == expected.shape
    assert float((got - expected).abs().max()) < 1e-4


def test_aoti_agrees_with_eager_on_one_tiny_compile():
    _skip_unless("aoti")
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU()).eval()
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        assert float((runtimes.prepare("aoti", module, x)(x) - module(x)).abs().max()) < 1e-4


def test_fused_runtime_swaps_the_block_and_says_how_it_runs(tiny_space):
    _skip_unless("fused")
    module, x = _block(tiny_space)
    fn = runtimes.prepare("fused", module, x)
    assert "nas_fused" in str(getattr(fn, "graph", "")) or "Fused" in repr(fn)
    assert "TorchScript-frozen" in runtimes.runtime_detail("fused") or "eager" in runtimes.runtime_detail("fused")


def test_one_registry_for_the_analysis_and_the_profiler():
    from nas.hardware.efficiency import runtimes as analysis_runtimes

    assert analysis_runtimes.RUNTIMES is runtimes.RUNTIMES
    assert set(runtimes.BUILTIN) <= set(runtimes.RUNTIMES)
    assert set(opbench.RUNTIMES) == set(runtimes.BUILTIN)  # in the engine, opbench runs all of them


def _one_line(exc) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_missing_onnxruntime_names_the_extra(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake(name, *a, **k):
        if name == "onnxruntime":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(InvalidInput) as exc:
        runtimes.require("onnxruntime")
    assert "pip install 'nas-engine[export]'" in _one_line(exc)


def test_missing_compiler_and_unbuilt_kernels_are_one_line(monkeypatch):
    from torch._inductor import cpp_builder
    from torch._inductor.exc import InvalidCxxCompiler

    from nas.hardware.fused import _ext

    def no_compiler():
        raise InvalidCxxCompiler()

    monkeypatch.setattr(cpp_builder, "get_cpp_compiler", no_compiler)
    with pytest.raises(InvalidInput) as exc:
        runtimes.require("aoti")
    assert "install g++" in _one_line(exc)
    monkeypatch.setattr(_ext, "error", lambda: "no C++ compiler: c++ not found on PATH")
    with pytest.raises(InvalidInput) as exc:
        runtimes.get_runtime("fused").prepare(torch.nn.Identity(), torch.zeros(1))  # checked on direct use too
    assert "fused C++ kernels" in _one_line(exc) and "install g++" in str(exc.value)


def test_kit_refuses_engine_only_runtimes(monkeypatch):
    monkeypatch.setattr(opbench, "__package__", "")
    with pytest.raises(ValueError, match="runs only inside the engine"):
        opbench.prepare(torch.nn.Identity(), "fused", torch.zeros(1))


# ----------------------------------------------------------------------------- profile --runtime fused
def test_profile_runtime_fused_records_the_runtime(tiny_space, cache, tmp_path):
    _skip_unless("fused")
    out = tmp_path / "fused.csv"
    result = runner.invoke(app, ["latency", "profile", "--space", TINY, "--runtime", "fused", "--out", str(out),
                                 "--warmup", "0", "--repeats", "2", "--flush-mb", "0", "--calibrate", "0",
                                 "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["runtime"] == "fused" and doc["ops"] == 16
    meta = read_table(out).metadata
    assert meta["runtime"] == "fused" and "nas_fused" in meta["runtime_detail"]
    # the same table extended with another runtime is refused, before anything is measured
    again = runner.invoke(app, ["latency", "profile", "--space", TINY, "--runtime", "torchscript", "--out", str(out),
                                "--flush-mb", "0", "--calibrate", "0"])
    assert again.exit_code == 2 and "runtime='fused', not 'torchscript'" in again.output


# ----------------------------------------------------------------------------- mismatches, exit 2
def _save(table, path):
    table.save(path)
    return path


def test_cached_table_of_another_runtime_is_refused_for_cpu_fused(tiny_space, cache):
    path = local.cpu_profile_path(runtime="fused")
    path.parent.mkdir(parents=True)
    _save(synthetic_table(tiny_space, runtime="torchscript", device=opbench.device_name("cpu")), path)
    with pytest.raises(InvalidInput, match="runtime 'torchscript', but target cpu-fused means runtime 'fused'"):
        latency_api.resolve_target("cpu-fused", tiny_space)
    result = runner.invoke(app, ["latency", "validate", "--target", "cpu-fused", "--space", TINY, "-n", "2"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output


def test_validate_with_another_runtime_is_refused(tiny_space, cache, tmp_path):
    result = runner.invoke(app, ["latency", "validate", "--target", "cpu-fused", "--runtime", "torchscript",
                                 "--space", TINY, "-n", "2"])
    assert result.exit_code == 2 and "means runtime 'fused'" in result.output
    table = _save(synthetic_table(tiny_space, runtime="torchscript"), tmp_path / "ts.csv")
    result = runner.invoke(app, ["latency", "validate", "--target", str(table), "--runtime", "fused",
                                 "--space", TINY, "-n", "2"])
    assert result.exit_code == 2 and "made with runtime 'torchscript'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_aoti_needs_subnets():
    result = runner.invoke(app, ["latency", "profile", "--space", TINY, "--runtime", "aoti", "--out", "x.csv"])
    assert result.exit_code == 2 and "--subnets N" in result.output


# ----------------------------------------------------------------------------- targets
def test_targets_list_every_cpu_runtime(cache):
    result = runner.invoke(app, ["targets", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert {n: rows[n]["runtime"] for n in local.CPU_TARGETS} == local.CPU_TARGETS
    assert rows["cpu-aoti"]["kind"] == "fitted" and "--subnets" in rows["cpu-aoti"]["status"]


# ----------------------------------------------------------------------------- aoti: fitted from subnets
def test_aoti_table_is_fitted_from_subnets_and_resumes(tiny_space, tmp_path, monkeypatch):
    truth = LatencyModel(synthetic_table(tiny_space, seed=3), tiny_space)
    calls = []

    def fake_timer(space, genomes, settings):
        assert settings["runtime"] == "aoti"
        calls.append(len(genomes))
        if len(calls) == 4 and not hasattr(fake_timer, "resumed"):
            raise KeyboardInterrupt  # a killed run
        return list(truth.predict(genomes) + 0.01)

    monkeypatch.setattr(profiling, "_time_subnets", fake_timer)
    monkeypatch.setitem(runtimes.RUNTIMES, "aoti", dataclasses.replace(runtimes.RUNTIMES["aoti"], check=None))
    out = tmp_path / "aoti.csv"
    said = []
    with pytest.raises(KeyboardInterrupt):
        latency_api.profile(TINY, out, runtime="aoti", subnets=12, progress=False, say=said.append)
    assert "about 12.0 min" in said[0]
    assert not out.exists() and out.with_name("aoti.csv.subnets.partial").exists()
    fake_timer.resumed = True
    calls.clear()
    result = latency_api.profile(TINY, out, runtime="aoti", subnets=12, progress=False)
    assert len(calls) == 9 and result["measured_now"] == 9  # 3 were journaled before the interruption
    meta = read_table(out).metadata
    assert meta["runtime"] == "aoti" and meta["kind"] == "fitted" and meta["split"]["test"] > 0
    assert out.with_name("aoti.subnets.csv").exists() and not out.with_name("aoti.csv.subnets.partial").exists()
    genomes = tiny_space.sample(20, np.random.default_rng(1))
    fitted = LatencyModel(read_table(out), tiny_space).predict(genomes)
    assert np.all(np.isfinite(fitted)) and np.all(fitted > 0)


@pytest.mark.parametrize("name", ["cpu-eager", "cpu-fused"])
def test_cpu_runtime_targets_profile_in_their_runtime(name, tiny_space, fast_cpu, rng):
    runtime = local.CPU_TARGETS[name]
    _skip_unless(runtime)
    model = latency_api.resolve_target(name, tiny_space)
    values = model.predict(tiny_space.sample(16, rng))
    assert np.all(np.isfinite(values)) and np.all(values > 0)
    assert model.metadata["runtime"] == runtime and "calibration" in model.metadata
    assert local.cpu_profile_path(runtime=runtime).is_file()
    assert latency_api.target_info(name)["runtime"] == runtime


def test_kit_runs_onnxruntime_without_the_engine(tiny_space, monkeypatch):
    _skip_unless("onnxruntime")
    monkeypatch.setattr(opbench, "__package__", "")  # the device kit's own ORT path, not the registry's
    module, x = _block(tiny_space)
    with torch.no_grad():
        assert float((opbench.prepare(module, "onnxruntime", x, threads=1)(x) - module(x)).abs().max()) < 1e-4


def test_the_fused_table_is_cached_per_kernel_build(cache):
    from nas.hardware.fused._ext import build_key

    path = local.cpu_profile_path(runtime="fused")
    assert f"-fused-{build_key()[:8]}-" in path.name  # a changed kernel source profiles a new table
    assert path != local.cpu_profile_path(runtime="torchscript")
