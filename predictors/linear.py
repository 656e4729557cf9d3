"""``ridge``: a standardized linear model (DyNAS-T's LINAS uses ridge and SVR predictors), via scikit-learn."""

from __future__ import annotations

import numpy as np

from ._base import Option, Predictor, register_predictor
from ._scaling import Standardizer

__all__ = ["RidgePredictor"]


@register_predictor("ridge")
class RidgePredictor(Predictor):
    """Ridge regression on standardized features; ``alpha=None`` picks it by efficient leave-one-out CV.

    Params: ``alpha`` (float or None), ``alphas`` (the grid searched when ``alpha`` is None).
    """

    options = {"alpha": Option(float, None, ge=0, also=(None,)),
               "alphas": Option(list, np.logspace(-3, 3, 13).tolist(), item=float, gt=0, min_len=1,
                                example="[0.1, 1, 10]")}

    def _fit(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        from sklearn.linear_model import Ridge, RidgeCV

        self.scaler = Standardizer.fit(X)
        alpha = self.params["alpha"]
        model = Ridge(alpha=alpha) if alpha is not None else RidgeCV(alphas=self.params["alphas"])
        model.fit(self.scaler(X), y)
        self.coef = np.asarray(model.coef_, dtype=np.float64).reshape(-1)
        self.intercept = float(model.intercept_)
        self.alpha_ = float(alpha if alpha is not None else model.alpha_)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self.scaler(X) @ self.coef + self.intercept

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**self.scaler.arrays(), "coef": self.coef, "intercept": np.float64(self.intercept),
                "alpha": np.float64(self.alpha_)}

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.scaler = Standardizer.from_arrays(arrays)
        self.coef = arrays["coef"].astype(np.float64)
        if self.coef.ndim != 1:
            raise ValueError(f"coef has shape {self.coef.shape}, not one value per feature")
        self.scaler.check_columns(len(self.coef), "coef")
        self.intercept = float(arrays["intercept"])
        self.alpha_ = float(arrays["alpha"])
