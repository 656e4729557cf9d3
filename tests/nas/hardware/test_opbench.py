"""The device-side profiler: torch only, resumable, and measuring the same modules the engine exports."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from nas.hardware import opbench
from nas.hardware.profiling import emit_specs, profile_space, space_specs
from nas.hardware.table import read_table
from search_spaces import get_space
from search_spaces.errors import InvalidInput
from search_spaces.mobilenet_v3_layout import mbconv_op
from supernets import create_supernet

FAST = {"warmup": 0, "repeats": 2, "flush_mb": 0.0}


def test_standalone_script_imports_nothing_but_torch(tiny_space, tmp_path):
    emit_specs(tiny_space, tmp_path / "specs.json")  # writes the kit beside the specs
    script = tmp_path / "opbench.py"
    code = ("import runpy, sys\n"
            "sys.argv = ['opbench.py', 'specs.json', '--out', 't.csv', '--warmup', '0', '--repeats', '2']\n"
            "try:\n    runpy.run_path('opbench.py', run_name='__main__')\n"
            "except SystemExit as e:\n    assert not e.code\n"
            "heavy = {'nas', 'search_spaces', 'supernets', 'predictors', 'pandas', 'scipy', 'rich', 'yaml'}\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]" and script.exists()
    table = read_table(tmp_path / "t.csv")
    assert len(table) == 16 and table.metadata["kind"] == "measured" and table.metadata["threads"] == 1
    assert table.metadata["spaces"] == ["ofa-mbv3"] and table.metadata["statistic"] == "median"


def test_standalone_kit_measures_token_ops(tmp_path):
    """The kit carries the vision-transformer builders: token ops get [B, N, C] inputs on the device."""
    space = get_space("vit-resnas-cifar").restrict(
        embed1=[40], embed2=[80], embed3=[160], heads1=[3], heads2=[6], heads3=[6], mlp1=[96], mlp2=[192], mlp3=[384])
    n = emit_specs(space, tmp_path / "specs.json")
    out = subprocess.run([sys.executable, "opbench.py", "specs.json", "--out", "t.csv", "--warmup", "0",
                          "--repeats", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    table = read_table(tmp_path / "t.csv")
    kinds = {op.kind for op in space.structure("block").unique_ops().values()}
    assert len(table) == n and {"vit_attn", "vit_mlp", "spatial_reduction", "cls_head"} <= kinds


def test_interrupted_profile_resumes_without_remeasuring(tiny_space, tmp_path):
    specs = space_specs(tiny_space)
    out = str(tmp_path / "t.csv")
    settings = opbench.run_settings("cpu", "torchscript", 1, "float32", 1, 0, 2, 0.0)
    meta = {"fusion": "block", "spaces": ["ofa-mbv3"], "source": "test"}
    journal = opbench.Journal(out + ".partial", meta | settings | {"kind": "measured"})
    for i, spec in enumerate(specs[:5]):  # a run killed after 5 ops, in the middle of the 6th row
        journal({f: spec[f] for f in opbench.SPEC_FIELDS} | {"latency_ms": 100.0 + i, "spread_ms": 0, "count": 2})
    journal.file.write("mbconv-in:1x1,partial")
    journal.close()
    _, rows, new = opbench.profile(specs, out, meta, settings)
    assert new == len(specs) - 5 and len(rows) == len(specs)
    table = read_table(out)
    assert [table.latency(s["key"]) for s in specs[:5]] == [100.0, 101.0, 102.0, 103.0, 104.0]
    assert not (tmp_path / "t.csv.partial").exists()
    assert opbench.profile(specs, out, meta, settings)[2] == 0  # nothing left to measure


def test_resume_refuses_other_settings(tiny_space, tmp_path):
    before = torch.get_num_threads()
    profile_space(tiny_space, tmp_path / "t.csv", threads=1, progress=False, **FAST)
    assert torch.get_num_threads() == before  # measuring fixes threads only while it runs
    with pytest.raises(InvalidInput, match="was measured with threads=1, not 2"):
        profile_space(get_space("ofa-mbv3[ks=5,e=3,d=2,r=128]"), tmp_path / "t.csv", threads=2, progress=False,
                      **FAST)
    with pytest.raises(InvalidInput, match="unknown runtime 'onnx'"):
        profile_space(tiny_space, tmp_path / "u.csv", runtime="onnx", progress=False)
    with pytest.raises(InvalidInput, match="written as CSV"):
        profile_space(tiny_space, tmp_path / "u.parquet", progress=False)


@pytest.mark.parametrize("position, kernel, expand", [(0, 3, 4), (5, 5, 3), (13, 7, 6)])
def test_profiled_block_is_the_exported_block(position, kernel, expand):
    space = get_space("ofa-mbv3[r=160]")
    op = mbconv_op(space.macro.block_spec(position, kernel, expand, 160))
    spec = json.loads(json.dumps(op.as_spec()))  # as the spec file carries it to a device
    bench, (c, h, w) = opbench.build_op(spec)
    arch = space.decode(space.sample(1, np.random.default_rng(position))[0])
    arch["ks"][position], arch["e"][position], arch["d"] = kernel, expand, [4] * 5
    exported = create_supernet(space).extract(arch).blocks[position + 1]
    assert list(bench.state_dict()) == list(exported.state_dict())
    bench.load_state_dict(exported.state_dict())
    x = torch.randn(1, c, h, w)
    torch.testing.assert_close(bench.eval()(x), exported.eval()(x))


def test_spec_file_format(tiny_space, tmp_path):
    assert emit_specs(tiny_space, tmp_path / "s.json") == 16
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["format"] == "nas-op-specs" and doc["metadata"]["fusion"] == "block"
    (tmp_path / "other.json").write_text("{}")
    assert opbench.main([str(tmp_path / "other.json"), "--out", str(tmp_path / "x.csv")]) == 2
