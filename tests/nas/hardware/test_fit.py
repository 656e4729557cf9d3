"""Fitting a per-op table from end-to-end latencies of whole subnets (NNLS over op counts and MACs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nas.hardware.fit import GroupFeatures, error_report, fit_table, group_of
from nas.hardware.latency_api import fit
from nas.hardware.measurements import read_measurements
from nas.hardware.model import LatencyModel
from nas.hardware.table import LatencyTable, read_table
from search_spaces import get_space
from search_spaces.errors import InvalidArchitecture, InvalidInput

from ...conftest import shared_path


def _structured_table(space, rng) -> LatencyTable:
    """A device whose ops cost overhead + MACs / throughput, both per op group."""
    feats = GroupFeatures(space)
    a = dict(zip(feats.groups, rng.uniform(0.01, 0.1, len(feats.groups))))
    b = dict(zip(feats.groups, rng.uniform(0.001, 0.02, len(feats.groups))))
    rows = [op.as_row() | {"latency_ms": a[group_of(op)] + b[group_of(op)] * op.work / 1e6, "spread_ms": 0.0,
                           "count": 1} for op in feats.structure.unique_ops().values()]
    return LatencyTable(rows, {"kind": "measured", "device": "model", "runtime": "-", "batch_size": 1, "dtype": "-",
                               "source": "synthetic", "fusion": "block"})


def test_features_sum_the_ops_a_subnet_runs(rng):
    space = get_space("ofa-mbv3")
    feats = GroupFeatures(space)
    g = space.sample(50, rng)
    X = feats(g)
    G = len(feats.groups)
    ops = [space.layers(a, "block") for a in space.decode_many(g)]
    np.testing.assert_array_equal(X[:, :G].sum(axis=1), [len(o) for o in ops])
    np.testing.assert_array_equal(X[:, 2 * G:].sum(axis=1), 1.0)  # one resolution indicator
    np.testing.assert_allclose(X[:, G:2 * G].sum(axis=1) * 1e6, [sum(op.work for op in o) for o in ops], rtol=1e-9)


def test_fit_recovers_a_device_that_follows_the_model(rng):
    space = get_space("ofa-mbv3")
    truth = LatencyModel(_structured_table(space, rng), space)
    g = space.sample(1000, rng)
    y = truth.predict(g)
    result = fit_table(space, g[:600], y[:600])
    report = error_report(result.predict(g[600:]), y[600:])
    assert report["within_10pct"] == 1.0 and report["max_abs_pct"] < 2.0
    table = result.table({"kind": "fitted", "device": "d", "runtime": "-", "batch_size": 1, "dtype": "-",
                          "source": "test", "fusion": "block"})
    np.testing.assert_allclose(LatencyModel(table, space).predict(g[600:]), result.predict(g[600:]), rtol=1e-9)


def _write_measurements(path, space, genomes, latency, column="latency_ms", **extra):
    archs = space.decode_many(genomes)
    df = pd.DataFrame({"ks": [" ".join(map(str, a["ks"])) for a in archs],
                       "e": [" ".join(map(str, a["e"])) for a in archs],
                       "d": [" ".join(map(str, a["d"])) for a in archs], "r": [a["r"] for a in archs],
                       column: latency, **extra})
    df.to_csv(path, index=False)
    return path


def test_fit_command_writes_a_table_with_its_held_out_error(rng, tmp_path, cache):
    space = get_space("ofa-mbv3")
    g = space.sample(300, rng)
    y = LatencyModel(_structured_table(space, rng), space).predict(g)
    path = _write_measurements(tmp_path / "m.csv", space, g, y)
    result = fit("ofa-mbv3", path, out=tmp_path / "fitted.csv", name="mydevice", train=200)
    assert result["held_out"]["within_10pct"] == 1.0 and result["test"] == 100
    table = read_table(tmp_path / "fitted.csv")
    assert table.metadata["kind"] == "fitted" and table.metadata["measured_error"]["n"] == 100
    assert (cache / "targets" / "mydevice.csv").is_file()


def test_bad_measurement_files(rng, tmp_path):
    space = get_space("ofa-mbv3")
    g = space.sample(5, rng)
    two = _write_measurements(tmp_path / "two.csv", space, g, np.ones(5), "gpu_ms", cpu_ms=np.ones(5))
    with pytest.raises(InvalidInput, match="several latency columns .*pick one with --column"):
        read_measurements(two, space)
    assert read_measurements(two, space, "cpu_ms")[2] == "cpu_ms"
    bad = _write_measurements(tmp_path / "bad.csv", space, g, [1, 2, -3, 4, 5])
    with pytest.raises(InvalidInput, match="row 4: latency -3.* is not a positive number"):
        read_measurements(bad, space)
    pd.DataFrame({"ks": ["3 3"], "latency_ms": [1.0]}).to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(InvalidInput, match="lacks arch column 'e'"):
        read_measurements(tmp_path / "short.csv", space)
    df = pd.read_csv(two)
    df.loc[0, "r"] = 100
    df.to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(InvalidArchitecture, match="row 2: r=100 is not allowed"):
        read_measurements(tmp_path / "r.csv", space, "gpu_ms")


@pytest.mark.realdata
@pytest.mark.parametrize("column", ["lat_ms_titan_rtx_64", "lat_ms_v100_64"])
def test_help_gpu_fit_on_1000_predicts_the_other_4000(column):
    path = shared_path("latency", "help-gpu", "ofa_mbv3_5000_latency.csv")
    space = get_space("ofa-mbv3")
    g, y, _ = read_measurements(path, space, column)
    order = np.random.default_rng(0).permutation(len(y))
    result = fit_table(space, g[order[:1000]], y[order[:1000]])
    report = error_report(result.predict(g[order[1000:]]), y[order[1000:]])
    assert report["n"] == 4000 and report["within_10pct"] >= 0.99
