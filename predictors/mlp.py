"""``mlp``: once-for-all style ReLU network (OFA's is 128-400-400-400-1), trained with torch, run with numpy.

Training standardizes features and target; the fitted standardization is then folded into the first
and last layers, so inference is a plain float32 ``relu(X @ W + b)`` chain (>= 100k subnets/s on 2
cores). An optional linear skip path (``skip``) lets the network learn the mostly additive part of
accuracy exactly and spend its hidden units on interactions; once-for-all's has none.
"""

from __future__ import annotations

import numpy as np

from search_spaces.checks import check_fits_in_memory

from ._base import Option, Predictor, register_predictor
from ._scaling import Standardizer

__all__ = ["MLPPredictor", "MAX_EPOCHS"]

#: most training epochs (300 by default): a fit of 10**12 would never end
MAX_EPOCHS = 100_000
#: bytes per network weight while fitting: float32 weight, gradient and AdamW's two moments, then the
#: float64 copies that folding the standardization makes
_BYTES_PER_WEIGHT = 4 * 4 + 2 * 8


@register_predictor("mlp")
class MLPPredictor(Predictor):
    """Params: ``hidden`` (layer widths), ``epochs``, ``lr``, ``weight_decay`` (AdamW), ``batch_size``, ``skip``."""

    dtype = np.float32

    options = {"hidden": Option(list, [128, 128], item=int, ge=1, example="[128, 128]"),
               "epochs": Option(int, 300, ge=0, le=MAX_EPOCHS), "lr": Option(float, 1e-3, gt=0),
               "weight_decay": Option(float, 1e-2, ge=0), "batch_size": Option(int, 64, ge=1),
               "skip": Option(bool, True)}

    def __init__(self, space, features: str = "onehot", derived="auto", **params):
        super().__init__(space, features, derived, **params)
        # the widths' memory is known now, from the feature count: refuse hidden=[10**8] before any data is read
        widths = [self.n_features, *self.params["hidden"], 1]
        weights = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
        check_fits_in_memory(weights * _BYTES_PER_WEIGHT, f"mlp option hidden={self.params['hidden']} "
                                                          f"({weights:,} weights)")

    # ----------------------------------------------------------------- fitting
    def _fit(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        import torch

        p = self.params
        scaler = Standardizer.fit(X)
        y_mean, y_scale = float(y.mean()), float(y.std() or 1.0)
        with _torch_seeded(seed) as gen:
            net, skip = _build(torch, X.shape[1], p["hidden"], p["skip"])
            params = list(net.parameters()) + (list(skip.parameters()) if skip is not None else [])
            opt = torch.optim.AdamW(params, lr=p["lr"], weight_decay=p["weight_decay"])
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(p["epochs"], 1))
            xt = torch.tensor(scaler(X), dtype=torch.float32)
            yt = torch.tensor((y - y_mean) / y_scale, dtype=torch.float32)
            for _ in range(p["epochs"]):
                order = torch.randperm(len(xt), generator=gen)
                for start in range(0, len(xt), p["batch_size"]):
                    idx = order[start:start + p["batch_size"]]
                    out = net(xt[idx]).squeeze(1) + (skip(xt[idx]).squeeze(1) if skip is not None else 0.0)
                    loss = torch.mean((out - yt[idx]) ** 2)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                sched.step()
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        weights = [m.weight.detach().double().numpy().T for m in linears]
        biases = [m.bias.detach().double().numpy() for m in linears]
        skip_wb = None if skip is None else (skip.weight.detach().double().numpy().T,
                                             skip.bias.detach().double().numpy())
        self._set_folded(weights, biases, skip_wb, scaler, y_mean, y_scale)

    def _set_folded(self, weights, biases, skip_wb, scaler: Standardizer, y_mean: float, y_scale: float) -> None:
        """Fold ``(X - mean) / scale`` into the first layer and ``* y_scale + y_mean`` into the last."""
        weights, biases = list(weights), list(biases)
        biases[0] = biases[0] - (scaler.mean / scaler.scale) @ weights[0]
        weights[0] = weights[0] / scaler.scale[:, None]
        weights[-1], biases[-1] = weights[-1] * y_scale, biases[-1] * y_scale + y_mean
        if skip_wb is not None:
            w, b = skip_wb
            b = (b - (scaler.mean / scaler.scale) @ w) * y_scale
            skip_wb = (w / scaler.scale[:, None] * y_scale, b)
        self.set_layers(weights, biases, skip_wb)

    def set_layers(self, weights, biases, skip=None) -> None:
        """Install raw layers: ``weights[i]`` is ``[in, out]``; the last layer has one output."""
        self.weights = [np.ascontiguousarray(w, dtype=np.float32) for w in weights]
        self.biases = [np.asarray(b, dtype=np.float32).reshape(-1) for b in biases]
        self.skip = None if skip is None else tuple(np.asarray(a, dtype=np.float32) for a in skip)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if w.ndim != 2 or b.shape != (w.shape[1],):
                raise ValueError(f"layer {i}: weight {w.shape} and bias {b.shape} do not fit")
            if i and w.shape[0] != self.weights[i - 1].shape[1]:
                raise ValueError(f"layer {i} takes {w.shape[0]} inputs but layer {i - 1} gives "
                                 f"{self.weights[i - 1].shape[1]}")
        if self.weights[-1].shape[1] != 1:
            raise ValueError(f"the last layer has {self.weights[-1].shape[1]} outputs, not 1")
        if self.skip is not None and self.skip[0].shape != (self.weights[0].shape[0], 1):
            raise ValueError(f"skip weight {self.skip[0].shape} does not fit {self.weights[0].shape[0]} inputs")
        self.fitted = True

    # --------------------------------------------------------------- inference
    def _predict(self, X: np.ndarray) -> np.ndarray:
        h = X
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w
            h += b
            if i < last:
                np.maximum(h, 0.0, out=h)
        if self.skip is not None:
            h += X @ self.skip[0] + self.skip[1]
        return h[:, 0].astype(np.float64)

    def _arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            out[f"w{i}"], out[f"b{i}"] = w, b
        if self.skip is not None:
            out["skip_w"], out["skip_b"] = self.skip
        return out

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        n = sum(1 for k in arrays if k.startswith("w") and k[1:].isdigit())
        skip = (arrays["skip_w"], arrays["skip_b"]) if "skip_w" in arrays else None
        self.set_layers([arrays[f"w{i}"] for i in range(n)], [arrays[f"b{i}"] for i in range(n)], skip)


def _build(torch, n_in: int, hidden: list[int], with_skip: bool):
    layers, width = [], n_in
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*layers), (torch.nn.Linear(n_in, 1) if with_skip else None)


class _torch_seeded:
    """Seed torch's global RNG (layer init) and use one thread for the fit, restore both after; yields a
    generator for shuffling."""

    def __init__(self, seed: int):
        self.seed = seed

    def __enter__(self):
        import torch

        self._state = torch.random.get_rng_state()
        self._threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny matmuls: threads only add sync cost (20x slower on a busy 2-core box)
        torch.manual_seed(self.seed)
        return torch.Generator().manual_seed(self.seed)

    def __exit__(self, *exc) -> None:
        import torch

        torch.random.set_rng_state(self._state)
        torch.set_num_threads(self._threads)
