"""The ``jetson-orin-nano`` target (alias ``jetson``): a roofline-style model of TensorRT on a Jetson
Orin Nano, calibrated on measured per-layer timings of MobileNetV2 and extended to the op specs of
the OFA spaces (kernel sizes 5 and 7, other expand widths, squeeze-excite, h-swish).

``calibrate`` fits the model and measures its leave-one-out error; ``scripts/calibrate_jetson.py``
writes the result to ``artifacts/jetson-orin-nano.json``, which the target reads (no data needed at
run time). The target is *modeled*, not measured, and says so in its metadata.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

import numpy as np
import pandas as pd

from search_spaces import SearchSpace
from search_spaces.checks import read_json_file
from search_spaces.errors import InvalidInput

from ._target import CostModel, register_target
from .model import LatencyModel
from .opspec import Op, structured
from .roofline import RooflineParams, fit_bandwidth, fit_roofline, kernels_of
from .table import LatencyTable

__all__ = ["ARTIFACT", "read_layers", "calibrate", "load_params", "jetson_table", "jetson_target"]

ARTIFACT = Path(__file__).parent / "artifacts" / "jetson-orin-nano.json"
_FORMAT = "nas-roofline-model"
_GROUPS = {"dense": ("pw", "conv"), "dw": ("dw",)}  # fitted groups; the others borrow (see calibrate)


def read_layers(directory: str | Path) -> pd.DataFrame:
    """The measured TensorRT layers as op specs (``layer`` fusion) with runtime in ms."""
    directory = Path(directory)
    conv = pd.read_csv(directory / "mobilenet_v2_convolutional.csv")
    pool = pd.read_csv(directory / "mobilenet_v2_pooling.csv")
    rows = []
    for r in conv.itertuples():
        cin, h, w = int(r.input_size_0), int(r.input_size_1), int(r.input_size_2)
        cout, oh, ow = int(r.output_size_0), int(r.output_size_1), int(r.output_size_2)
        name = str(r.layer_name)
        if "MATRIX_MULTIPLY" in name:
            op = Op("linear", (1, 1, cin), (1, 1, cout), fused="linear+bias")
        else:
            kind = "dwconv" if int(r.kernel_0) > 1 and cin == cout and cin > 3 else "conv"
            residual = "aten_ops.add" in name
            # torchvision MobileNetV2 uses ReLU6 after every conv but the projecting one
            project = re.search(r"/conv/\d+/convolution", name) is not None
            op = Op(kind, (h, w, cin), (oh, ow, cout), int(r.kernel_0), int(r.stride_0),
                        act="none" if project else "relu6", bn=True, residual=residual,
                        fused="+".join(["conv", "bn"] + (["add"] if residual else []) + ([] if project else ["act"])))
        rows.append({"op": op, "ms": float(r.runtime), "layer": name})
    for r in pool.itertuples():
        c, h = int(r.input_size_0), int(r.input_size_1)
        rows.append({"op": Op("pool", (h, h, c), (1, 1, c), fused="mean"), "ms": float(r.runtime),
                     "layer": str(r.layer_name)})
    df = pd.DataFrame(rows)
    df["kernel"] = [kernels_of(op)[0] for op in df["op"]]
    df["kind"] = [k.kind for k in df["kernel"]]
    return df


def _params(layers: pd.DataFrame) -> RooflineParams:
    """Fit the groups with enough layers; single-layer kinds borrow overhead and throughput."""
    over, rate, bw = {}, {}, {}
    for kinds in _GROUPS.values():
        sel = layers[layers["kind"].isin(kinds)]
        o, c, m = fit_roofline(list(sel["kernel"]), sel["ms"].to_numpy())
        for kind in kinds:
            over[kind], rate[kind], bw[kind] = o, c, m
    # memory-bound kinds (one measured layer each, or none) take the depthwise group's overhead and
    # throughput and fit only their bandwidth; the SE gate (eltwise) has no measurement: it is a
    # memory pass like the reduce
    for kind in ("linear", "reduce"):
        sel = layers[layers["kind"] == kind]
        if len(sel) != 1:
            raise InvalidInput(f"expected one measured {kind} layer, found {len(sel)}")
        over[kind], rate[kind] = over["dw"], rate["dw"]
        bw[kind] = fit_bandwidth(sel["kernel"].iloc[0], float(sel["ms"].iloc[0]), over[kind], rate[kind])
    over["eltwise"], rate["eltwise"], bw["eltwise"] = over["reduce"], rate["reduce"], bw["reduce"]
    return RooflineParams(over, rate, bw)


def _errors(pred: np.ndarray, true: np.ndarray) -> dict:
    rel = pred / true - 1
    return {"n": int(len(true)), "median_abs_pct": round(float(100 * np.median(np.abs(rel))), 2),
            "max_abs_pct": round(float(100 * np.max(np.abs(rel))), 2),
            "within_10pct": round(float(np.mean(np.abs(rel) <= 0.10)), 3)}


def calibrate(directory: str | Path) -> dict:
    """Fit on every layer, validate leave-one-out, and return the artifact (params + provenance)."""
    layers = read_layers(directory)
    params = _params(layers)
    fitted = np.array([params.kernel_ms(k) for k in layers["kernel"]])
    loo = np.full(len(layers), np.nan)
    for i in range(len(layers)):
        if layers["kind"].iloc[i] in ("linear", "reduce"):
            continue  # single measured layer of its kind: nothing to hold out against
        loo[i] = _params(layers.drop(index=layers.index[i])).kernel_ms(layers["kernel"].iloc[i])
    t = layers["ms"].to_numpy()
    validated = ~np.isnan(loo)
    per_kind = {g: _errors(loo[m], t[m]) for g, kinds in _GROUPS.items()
                if (m := validated & layers["kind"].isin(kinds).to_numpy()).any()}
    loo_total = float(np.where(validated, loo, fitted).sum())
    return {
        "format": _FORMAT, "name": "jetson-orin-nano", "params": params.to_json(),
        "metadata": {
            "kind": "modeled", "device": "NVIDIA Jetson Orin Nano (JetPack 6.1)", "runtime": "TensorRT",
            "batch_size": 1, "dtype": "unknown (as measured by the source; bytes modeled as fp32)",
            "fusion": "layer",
            "source": "per-layer TensorRT runtimes of torchvision MobileNetV2 (53 conv/linear layers + pooling), "
                      "github.com/fuzzylabs/edge-vision-power-estimation, Apache-2.0",
            "method": "roofline-style model per kernel kind, t = overhead + MACs/throughput + bytes/bandwidth, "
                      "fitted with a robust log-error least squares: dense convs (1x1 and the stem) and depthwise "
                      "convs fitted per group; linear and reduce fit a bandwidth on their single layer with the "
                      "depthwise overhead; the SE gate multiply is modeled like the reduce",
            "assumptions": "TensorRT fuses conv+BN+activation (h-swish like ReLU) and conv+BN+add(+ReLU) into one "
                           "kernel; squeeze-excite runs as 4 kernels (reduce, 2 small matmuls, gate multiply); 5x5 "
                           "and 7x7 depthwise kernels follow the 3x3 fit through their MACs (no such layer was "
                           "measured); max and average pooling windows cost like a depthwise conv of that window",
            "measured_error": {
                "leave_one_out_per_layer": per_kind,
                "leave_one_out_all_validated_layers": _errors(loo[validated], t[validated]),
                "in_sample_all_layers": _errors(fitted, t),
                "mobilenet_v2_total_ms": {"measured": round(float(t.sum()), 4),
                                          "predicted_leave_one_out": round(loo_total, 4),
                                          "error_pct": round(100 * (loo_total / t.sum() - 1), 2)},
                "not_validated": "linear and reduce (one layer each), SE, 5x5/7x7 depthwise, h-swish: no "
                                 "measurement on this device; OFA subnets were never timed on it",
            },
            "script": "scripts/calibrate_jetson.py",
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        },
    }


def load_params(path: str | Path = ARTIFACT) -> tuple[RooflineParams, dict]:
    path = Path(path)
    doc = read_json_file(path, "the roofline model")
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise InvalidInput(f"{path} is not a roofline model file")
    return RooflineParams.from_json(doc["params"]), doc["metadata"]


def jetson_table(space: SearchSpace, path: str | Path = ARTIFACT) -> LatencyTable:
    """The modeled per-op table for every op the space can produce."""
    params, meta = load_params(path)
    ops = structured(space).structure("layer").unique_ops().values()
    rows = [op.as_row() | {"latency_ms": params.op_ms(op), "spread_ms": 0.0, "count": 0} for op in ops]
    return LatencyTable(rows, meta | {"spaces": [space.family]}, origin="jetson-orin-nano model")


def _info() -> dict:
    return load_params()[1] | {"artifact": f"nas/hardware/artifacts/{ARTIFACT.name}"}


@register_target("jetson-orin-nano", aliases=("jetson",), info=_info)
def jetson_target(space: SearchSpace) -> CostModel:
    model = LatencyModel(jetson_table(space), space)
    return model.cost_model("jetson-orin-nano", {"artifact": ARTIFACT.name})
