"""The jetson-orin-nano target: a modeled TensorRT latency, shipped with how it was made and how far off it was."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nas.hardware import get_target, target_info
from nas.hardware.jetson import ARTIFACT, calibrate, load_params, read_layers
from nas.hardware.roofline import RooflineParams, kernels_of
from search_spaces import Op as OpSpec
from search_spaces import get_space
from search_spaces.errors import InvalidInput

from ...conftest import shared_path


def test_artifact_says_it_is_modeled_and_how_far_off_it_was():
    params, meta = load_params()
    assert meta["kind"] == "modeled" and meta["runtime"] == "TensorRT" and "Orin Nano" in meta["device"]
    loo = meta["measured_error"]["leave_one_out_all_validated_layers"]
    assert loo["n"] == 52 and 0 < loo["median_abs_pct"] < 10
    assert "not_validated" in meta["measured_error"] and meta["script"] == "scripts/calibrate_jetson.py"
    assert set(params.overhead_ms) == {"pw", "conv", "dw", "linear", "reduce", "eltwise"}
    assert target_info("jetson") == target_info("jetson-orin-nano")


@pytest.mark.parametrize("space_name", ["ofa-mbv3", "ofa-mbv3-w1.2"])
def test_target_predicts_ms_growing_with_the_subnet(space_name, rng):
    space = get_space(space_name)
    model = get_target("jetson", space)
    small, large = model.predict(np.zeros((1, space.n_genes), int))[0], model.predict(space.n_options - 1)[0]
    assert model.unit == "ms" and 0.3 < small < large < 20
    assert np.all(np.isfinite(model.predict(space.sample(100, rng))))
    assert model.metadata["kind"] == "modeled" and model.metadata["fusion"] == "layer"


def test_squeeze_excite_launches_four_kernels_and_larger_kernels_cost_more():
    params, _ = load_params()
    se = OpSpec("se", (14, 14, 480), (14, 14, 480), mid=120, se=120, fused="se")
    assert [k.kind for k in kernels_of(se)] == ["reduce", "linear", "linear", "eltwise"]
    dw = [params.op_ms(OpSpec("dwconv", (28, 28, 240), (28, 28, 240), k, bn=True)) for k in (3, 5, 7)]
    assert dw[0] < dw[1] < dw[2]
    with pytest.raises(InvalidInput, match="no roofline model for op kind 'mbconv'"):
        params.op_ms(OpSpec("mbconv", (1, 1, 1), (1, 1, 1)))
    with pytest.raises(InvalidInput, match="no parameters for kernel kind 'pw'"):
        RooflineParams({}, {}, {}).op_ms(OpSpec("conv", (7, 7, 8), (7, 7, 8)))


@pytest.mark.realdata
def test_shipped_artifact_is_what_the_script_makes():
    folder = shared_path("latency", "jetson-orin-nano-mbv2")
    layers = read_layers(folder)
    assert len(layers) == 54 and set(layers["kind"]) == {"pw", "dw", "conv", "linear", "reduce"}
    doc = calibrate(folder)
    shipped = json.loads(ARTIFACT.read_text())
    for group in ("overhead_ms", "macs_per_ms", "bytes_per_ms"):
        for kind, value in shipped["params"][group].items():
            assert doc["params"][group][kind] == pytest.approx(value, rel=1e-6)
    assert doc["metadata"]["measured_error"] == shipped["metadata"]["measured_error"]
