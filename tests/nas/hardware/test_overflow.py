"""Latencies near 1e308 "ms" are refused: their sums are inf, which reached pareto.csv and best.json
(as ``Infinity``, not JSON), and ``latency fit`` wrote a table from them."""

from __future__ import annotations

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from nas.cli import app
from search_spaces import get_space

from .conftest import TINY, synthetic_table

runner = CliRunner()


def _one_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_a_table_whose_sums_overflow_is_refused_before_the_run_directory(tmp_path):
    table = synthetic_table(get_space("ofa-mbv3"))
    table.rows["latency_ms"] = 1e308  # each entry finite, any subnet's sum not
    table.save(tmp_path / "big.csv")
    line = _one_line(runner.invoke(app, ["search", "--target", str(tmp_path / "big.csv"), "--budget", "20",
                                         "--out", str(tmp_path / "run")]))
    assert "slowest subnets overflow (entries up to 1e+308 ms)" in line
    assert not (tmp_path / "run").exists()


def test_fit_refuses_timings_that_overflow_and_writes_nothing(tmp_path, cache):
    space = get_space(TINY)
    archs = space.decode_many(space.sample(10, np.random.default_rng(0)))
    df = pd.DataFrame({k: [" ".join(map(str, a[k])) if isinstance(a[k], list) else a[k] for a in archs]
                       for k in space.keys})
    df["latency_ms"] = 1e308
    df.to_csv(tmp_path / "m.csv", index=False)
    line = _one_line(runner.invoke(app, ["latency", "fit", "--space", TINY, "--measurements", str(tmp_path / "m.csv"),
                                         "--out", str(tmp_path / "fitted.csv"), "--name", "big", "--train", "8"]))
    assert "latencies up to 1e+308 ms overflow the fit's error statistics" in line
    assert not (tmp_path / "fitted.csv").exists() and not (cache / "targets").exists()
