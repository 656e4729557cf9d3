"""``--threads`` above the machine's CPUs is one line (torch segfaults at 100000), for every command that takes it."""

from __future__ import annotations

import os

import pytest
import torch
from typer.testing import CliRunner

from nas.cli import app

runner = CliRunner()
TINY = "synthetic:n_train=72,n_test=16,classes=10,size=32,seed=0"


@pytest.mark.parametrize("command", [
    ["evaluate", "--checkpoint", "{tmp}/c.pt", "--data", TINY, "--sample", "1"],
    ["train", "--space", "ofa-mbv3-cifar", "--strategy", "deps", "--data", TINY, "--epochs", "1", "--out", "{tmp}/run"],
    ["latency", "profile", "--space", "ofa-mbv3-cifar", "--out", "{tmp}/t.csv", "--calibrate", "0"],
], ids=lambda c: c[0] if c[0] != "latency" else "latency-profile")
def test_threads_beyond_the_cpus_are_refused_before_anything_runs(tmp_path, monkeypatch, command):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # this machine, as the check sees it
    before = torch.get_num_threads()
    result = runner.invoke(app, [arg.format(tmp=tmp_path) for arg in command] + ["--threads", "3", "--no-progress"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert "--threads 3 exceeds the 2 CPUs of this machine" in lines[0]
    assert torch.get_num_threads() == before and list(tmp_path.iterdir()) == []
