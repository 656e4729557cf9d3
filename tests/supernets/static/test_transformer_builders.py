"""The token-op builders: the profiler's view (per-sample input shape, a module that runs on it), and the
device kit's (transformer.py beside oplib.py, torch only)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import torch

from search_spaces import get_space
from supernets.static import oplib, transformer
from supernets.static.oplib import build_op

KIT = """
import json, sys, torch
sys.path = [sys.argv[1]] + [p for p in sys.path if p and 'work/main' not in p and 'site-packages' in p]
import oplib, transformer
for spec in json.loads(sys.argv[2]):
    module, shape = oplib.build_op(spec)
    module.eval()(torch.randn(2, *shape))
bad = [k for k in sys.modules if k.split('.')[0] in ('nas', 'supernets', 'search_spaces', 'predictors')]
assert not bad, bad
"""


def _specs() -> list[dict]:
    space = get_space("vit-resnas-cifar")
    return [op.as_spec() for op in space.layers(space.extremes()[1])]


def test_every_op_builds_and_runs_on_its_declared_input():
    for spec in _specs():
        module, shape = build_op(spec)
        tokens = spec["kind"] not in ("conv", "patch_embed", "resblock")
        if tokens:
            assert shape == (spec["in_h"] * spec["in_w"] + 1, spec["in_c"]), spec["key"]
        with torch.no_grad():
            out = module.eval()(torch.randn(2, *shape))
        if spec["kind"] == "cls_head":
            assert out.shape == (2, spec["out_c"])
        elif tokens or spec["kind"] == "patch_embed":
            assert out.shape == (2, spec["out_h"] * spec["out_w"] + 1, spec["out_c"]), spec["key"]


def test_builders_run_in_the_device_kit(tmp_path):
    for module in (oplib, transformer):
        shutil.copyfile(module.__file__, tmp_path / f"{module.__name__.rsplit('.', 1)[-1]}.py")
    proc = subprocess.run([sys.executable, "-I", "-c", KIT, str(tmp_path), json.dumps(_specs())], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
