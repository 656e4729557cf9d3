"""The Triton inverted-residual kernel against the eager block: on CUDA where a GPU is present, else under
Triton's interpreter on the CPU (a subprocess, since ``TRITON_INTERPRET`` is read when the kernel is
defined). Both need Triton installed (it is not a dependency); the suite skips them without it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from nas.hardware.fused import triton_ir

from .blocks import check_cases, make_block

pytestmark = pytest.mark.skipif(not triton_ir.available(), reason="Triton is not installed")
ROOT = Path(__file__).resolve().parents[4]
# (cin, cout, expand, kernel, stride, se, act): no expand, expand, stride 2, SE, every activation
CASES = [(16, 16, 4, 3, 1, False, "relu"), (16, 24, 6, 5, 2, True, "h_swish"), (24, 24, 1, 3, 1, False, "relu6"),
         (12, 20, 6, 3, 2, False, "none"), (8, 8, 3, 3, 1, True, "h_sigmoid")]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_matches_eager_on_cuda():
    wide = [(40, 40, 3, 7, 1, True, "h_swish"), (112, 160, 6, 7, 2, True, "h_swish")]
    check_cases(triton_ir.TritonInvertedResidual, "cuda", CASES + wide)


def test_matches_eager_in_the_interpreter(tmp_path):
    """Small blocks only: the interpreter runs the kernel in numpy, seconds per block."""
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(ROOT)!r}, {str(Path(__file__).parent)!r}]
        from blocks import check_cases
        from nas.hardware.fused.triton_ir import TritonInvertedResidual
        check_cases(TritonInvertedResidual, "cpu", {CASES!r})
        print("ok")
    """)
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=900,
                          cwd=tmp_path)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-3000:]


def test_uncovered_blocks_are_refused():
    from nas.hardware.fused import Unsupported

    block = make_block(16, 16, 3, 3, 1, False, "relu")
    block.main.depthwise.act = torch.nn.GELU()
    with pytest.raises(Unsupported, match="GELU"):
        triton_ir.TritonInvertedResidual(block)
