"""The examples users copy from keep working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_subnet_to_torchscript(tmp_path):
    out = tmp_path / "subnet.pt"
    proc = subprocess.run([sys.executable, str(EXAMPLES / "subnet_to_torchscript.py"), "--out", str(out)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.is_file() and out.with_suffix(".arch.json").is_file()
    error = float(proc.stdout.rsplit("max |TorchScript - eager| =", 1)[1].split()[0])
    assert error <= 1e-5
