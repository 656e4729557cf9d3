"""Latency tables keyed by bits: an S+q space's int8 layers profiled on int8 kernels (``--dtype int8``), their
own entries, and a latency model that costs each subnet by the kernels its bits run on."""

from __future__ import annotations

import numpy as np
import pytest

from nas.hardware import latency_api, local
from nas.hardware.model import LatencyModel
from nas.hardware.table import read_table
from search_spaces import get_space
from search_spaces.errors import InvalidInput

SPACE = "resnet20-pooling+q[pool=4-3-3]"  # 35 block ops
FAST = dict(warmup=0, repeats=2, flush_mb=0.0, calibrate=0, progress=False)


@pytest.fixture(scope="module")
def int8_table(tmp_path_factory):
    out = tmp_path_factory.mktemp("int8") / "t.csv"
    result = latency_api.profile(SPACE, out, **FAST)
    return read_table(out), result


def test_profile_defaults_to_int8_for_a_space_with_bits(int8_table):
    table, result = int8_table
    space = get_space(SPACE)
    assert table.metadata["dtype"] == "int8" and result["ops"] == len(space.structure().unique_ops())
    int8 = [op for op in space.structure().unique_ops().values() if op.precision]
    assert len(int8) > 10 and sum("-prec:" in key for key in table.rows["key"]) == len(int8)


def test_the_model_costs_the_kernels_each_subnets_bits_run_on(int8_table):
    table, _ = int8_table
    space = get_space(SPACE)
    model = LatencyModel(table, space)
    base = {"pool": [4, 3, 3]}
    archs = [space.with_bits(base), space.with_bits(base, 8, 8), space.with_bits(base, 4, 8),
             space.with_bits(base, 8, 8, "asymmetric")]
    n = len(space.quant_layers)
    archs.append({**base, "wbits": [8, 32] * (n // 2), "abits": [8] * n, "wmode": ["symmetric"] * n})
    predicted = model.predict(np.stack([space.encode(a) for a in archs]))
    for arch, ms in zip(archs, predicted):
        assert ms == pytest.approx(sum(table.get(op.key) for op in space.layers(arch)))
    fp32, int8, w4, asym, mixed = predicted
    assert int8 != fp32 and w4 == fp32 == asym  # only 8-bit symmetric weights on 8-bit inputs run int8 kernels
    assert mixed not in (fp32, int8)


def test_a_table_without_int8_entries_restricts_the_space_to_fp32(int8_table):
    table, _ = int8_table
    from nas.hardware.table import LatencyTable

    fp32_rows = table.rows[~table.rows["key"].str.contains("-prec:")]
    model = LatencyModel.covering(LatencyTable(fp32_rows, table.metadata, "fp32 rows"), get_space(SPACE))
    assert all(not op.precision for op in model.structure.unique_ops().values())


@pytest.mark.parametrize("space, kwargs, words", [
    ("resnet20-pooling", {"dtype": "int8"}, "has none"),
    (SPACE, {"dtype": "float32"}, "profile it with --dtype int8"),
    (SPACE, {"dtype": "int4"}, "allowed: float32, float16, int8"),
    (SPACE, {"runtime": "onnxruntime"}, "int8 kernels on the CPU"),
])
def test_profile_refuses_a_dtype_that_cannot_run_the_space(tmp_path, space, kwargs, words):
    with pytest.raises(InvalidInput, match=words):
        latency_api.profile(space, tmp_path / "t.csv", **FAST, **kwargs)
    assert not list(tmp_path.iterdir())


def test_cpu_targets_keep_int8_profiles_apart_and_refuse_runtimes_without_int8(cache):
    assert local.cpu_profile_path(dtype="int8") != local.cpu_profile_path()
    with pytest.raises(InvalidInput, match="no int8 kernels"):
        local.cpu_table(get_space(SPACE), progress=False, runtime="onnxruntime", target="cpu-ort")
    assert not (cache / "profiles").exists()
