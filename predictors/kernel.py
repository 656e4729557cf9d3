"""``svr``: support vector regression with an RBF kernel (DyNAS-T's LINAS predictor), fitted with
scikit-learn and evaluated with numpy from its support vectors."""

from __future__ import annotations

import numpy as np

from ._base import Option, Predictor, register_predictor
from ._scaling import Standardizer

__all__ = ["SVRPredictor"]

_CHUNK = 4096  # rows per kernel block: bounds memory at chunk x n_support floats


@register_predictor("svr")
class SVRPredictor(Predictor):
    """RBF-kernel SVR on standardized features and a standardized target.

    Params: ``C``, ``epsilon`` (in target standard deviations), ``gamma`` (float, or "scale" =
    1 / n_features on standardized features).
    """

    options = {"C": Option(float, 10.0, gt=0), "epsilon": Option(float, 0.01, ge=0),
               "gamma": Option(float, "scale", gt=0, also=("scale",))}

    def _fit(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        from sklearn.svm import SVR

        self.scaler = Standardizer.fit(X)
        self.y_mean, self.y_scale = float(y.mean()), float(y.std() or 1.0)
        gamma = self.params["gamma"]
        self.gamma_ = 1.0 / X.shape[1] if gamma == "scale" else float(gamma)
        model = SVR(kernel="rbf", C=self.params["C"], epsilon=self.params["epsilon"], gamma=self.gamma_)
        model.fit(self.scaler(X), (y - self.y_mean) / self.y_scale)
        self.support = np.asarray(model.support_vectors_, dtype=np.float64)
        self.dual = np.asarray(model.dual_coef_, dtype=np.float64).reshape(-1)
        self.intercept = float(model.intercept_[0])
        self._cache()

    def _cache(self) -> None:
        self._support_sq = (self.support**2).sum(axis=1)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        Z = self.scaler(X)
        out = np.empty(len(Z))
        for start in range(0, len(Z), _CHUNK):
            z = Z[start:start + _CHUNK]
            sq = (z**2).sum(axis=1)[:, None] + self._support_sq[None, :] - 2.0 * (z @ self.support.T)
            out[start:start + _CHUNK] = np.exp(-self.gamma_ * np.maximum(sq, 0.0)) @ self.dual
        return (out + self.intercept) * self.y_scale + self.y_mean

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**self.scaler.arrays(), "support": self.support, "dual": self.dual,
                "intercept": np.float64(self.intercept), "gamma": np.float64(self.gamma_),
                "y_mean": np.float64(self.y_mean), "y_scale": np.float64(self.y_scale)}

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.scaler = Standardizer.from_arrays(arrays)
        self.support = arrays["support"].astype(np.float64)
        self.dual = arrays["dual"].astype(np.float64)
        self.intercept, self.gamma_ = float(arrays["intercept"]), float(arrays["gamma"])
        self.y_mean, self.y_scale = float(arrays["y_mean"]), float(arrays["y_scale"])
        if self.support.ndim != 2 or self.dual.ndim != 1:
            raise ValueError(f"support {self.support.shape} must be vectors and dual {self.dual.shape} one value each")
        self.scaler.check_columns(self.support.shape[1], "each support vector")
        if self.support.shape[0] != self.dual.shape[0]:
            raise ValueError(f"{self.support.shape[0]} support vectors but {self.dual.shape[0]} dual coefficients")
        self._cache()
