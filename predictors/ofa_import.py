"""Convert once-for-all's released accuracy predictors (``acc_predictor.pth``, ``ofa_resnet50_acc_predictor.pth``)
into ``mlp`` predictors.

The files are legacy torch pickles holding a state dict, read with ``torch.load(weights_only=True)``.
Two layouts exist: the tutorial's ``nn.Sequential`` (``0.weight`` ... ``6.bias``) and
``ofa.nas.accuracy_predictor.AccuracyPredictor`` (``layers.i.0.weight``, a bias-free last layer and a
fixed ``base_acc`` offset, folded into the last bias). Both are ReLU stacks over once-for-all's
encoding of the space, which is exactly ``space.features(genomes, "ofa")`` (MobileNetV3: 128 columns;
ResNet50: 82), so the conversion is exact up to float32 rounding. Where the encoding covers only part
of the space (ResNet50's encoder knows 8 resolutions), the predictor is made for that restriction.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import re
from pathlib import Path

import numpy as np

from search_spaces import SearchSpace, get_space
from search_spaces.checks import torch_load_reason
from search_spaces.errors import InvalidInput, NotSupported

from .mlp import MLPPredictor

__all__ = ["import_ofa_predictor", "read_ofa_layers"]


def read_ofa_layers(path: str | Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights ``[in, out]`` and biases of each linear layer, in order (``base_acc`` folded into the last bias)."""
    import torch

    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"{path} is a directory; expected once-for-all's predictor file (e.g. acc_predictor.pth)")
    if not path.is_file():
        raise InvalidInput(f"once-for-all predictor file {path} does not exist")
    if path.stat().st_size == 0:
        raise InvalidInput(f"{path.name} is not a readable torch state dict: the file is empty")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for foreign or corrupt files
        raise InvalidInput(f"{path.name} is not a readable torch state dict: {torch_load_reason(exc)}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise InvalidInput(f"{path.name} does not hold a state dict of tensors")
    weight_keys = sorted((k for k in state if k.endswith("weight")), key=_layer_order)
    if not weight_keys:
        raise InvalidInput(f"{path.name} has no layer weights; keys: {', '.join(list(state)[:8])}")
    weights, biases = [], []
    for key in weight_keys:
        w = state[key].detach().double().numpy()
        if w.ndim != 2:
            raise InvalidInput(f"{path.name}: {key} has shape {tuple(w.shape)}; expected a linear layer")
        bias = state.get(key[: -len("weight")] + "bias")
        weights.append(w.T)
        biases.append(np.zeros(w.shape[0]) if bias is None else bias.detach().double().numpy().reshape(-1))
    if "base_acc" in state:
        biases[-1] = biases[-1] + state["base_acc"].detach().double().numpy().reshape(-1)
    return weights, biases


def _layer_order(key: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", key)]


def import_ofa_predictor(path: str | Path, space: SearchSpace | str = "ofa-mbv3-w1.2", scale: float = 100.0,
                         check: int = 512) -> MLPPredictor:
    """An ``mlp`` predictor giving the released predictor's output times ``scale`` (its outputs are
    fractions; 100 gives top-1 in %). ``check`` random subnets verify the conversion against torch."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)) \
            or not math.isfinite(scale) or scale <= 0:
        raise InvalidInput(f"scale must be a finite number > 0 (100 turns once-for-all's fractions into %); "
                           f"got {scale!r}")
    if isinstance(check, bool) or not isinstance(check, (int, np.integer)) or check < 0:
        raise InvalidInput(f"check must be a number of subnets >= 0; got {check!r}")
    scale = float(scale)
    space = get_space(space) if isinstance(space, str) else space
    if "ofa" not in space.feature_kinds():
        raise NotSupported(f"space {space.name} has no once-for-all encoding; use an OFA space such as ofa-mbv3-w1.2")
    support = space.feature_support("ofa")  # e.g. the resolutions once-for-all's encoder knows
    if support:
        space = space.restrict(**support)
    weights, biases = read_ofa_layers(path)
    n_in = space.features(np.zeros((1, space.n_genes), dtype=np.int64), "ofa").shape[1]
    if weights[0].shape[0] != n_in:
        raise InvalidInput(f"{Path(path).name} takes {weights[0].shape[0]} inputs but once-for-all features of "
                           f"{space.name} have {n_in}")
    if weights[-1].shape[1] != 1:
        raise InvalidInput(f"{Path(path).name} ends in {weights[-1].shape[1]} outputs; an accuracy predictor has 1")
    weights[-1], biases[-1] = weights[-1] * scale, biases[-1] * scale
    predictor = MLPPredictor(space, features="ofa", derived=(), hidden=[w.shape[1] for w in weights[:-1]],
                             skip=False, epochs=0)
    predictor.set_layers(weights, biases)
    err = _max_error_vs_torch(predictor, path, scale, check)
    data = Path(path).read_bytes()
    predictor.metadata = {
        "target": "ImageNet top-1 (%)" if scale == 100 else f"once-for-all predictor output x {scale}",
        "source": {"file": Path(path).name, "sha256": hashlib.sha256(data).hexdigest(),
                   "origin": "once-for-all released accuracy predictor (github.com/han-cai/files, MIT)"},
        "trained_for": space.name,
        "conversion": {"scale": scale, "layers": [int(w.shape[1]) for w in weights],
                       "max_abs_diff_vs_torch": err, "checked_subnets": check},
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "fit_command": f"nas predictor import-ofa {Path(path).name} --space {space.name}",
    }
    return predictor


def _max_error_vs_torch(predictor: MLPPredictor, path: str | Path, scale: float, n: int) -> float:
    """Run the original layers in torch (float32, as once-for-all does) on random subnets and compare."""
    import torch

    if n <= 0:
        return float("nan")
    weights, biases = read_ofa_layers(path)
    genomes = predictor.space.sample(n, np.random.default_rng(0))
    h = torch.tensor(predictor.space.features(genomes, "ofa"), dtype=torch.float32)
    with torch.no_grad():
        for i, (w, b) in enumerate(zip(weights, biases)):
            h = h @ torch.tensor(w, dtype=torch.float32) + torch.tensor(b, dtype=torch.float32)
            if i < len(weights) - 1:
                h = torch.relu(h)
    reference = h[:, 0].double().numpy() * scale
    return float(np.abs(predictor.predict(genomes) - reference).max())
