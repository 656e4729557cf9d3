"""Cheap per-objective predictors for LINAS's inner loop (scikit-learn, fitted on evaluated subnets).

``dynast`` is DyNAS-T's predictor: ridge regression and an RBF SVR, each tuned by cross-validated
grid search, the better one kept; constant features dropped and labels rescaled by a power of ten.
(DyNAS-T scores by MAPE; we score by mean squared error, which also works for values near zero
such as constraint violations, and use coarser grids: 9 values instead of 100.)
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.svm import SVR

from search_spaces.errors import InvalidInput

__all__ = ["SURROGATES", "Surrogate"]

SURROGATES = ("dynast", "ridge", "svr", "gbm", "ensemble")


def _grid(estimator, grid: dict, n: int, seed: int):
    folds = KFold(n_splits=min(5, n), shuffle=True, random_state=seed)
    return GridSearchCV(estimator, grid, cv=folds, scoring="neg_mean_squared_error", n_jobs=1)


class Surrogate:
    """One regressor per column of ``Y``; ``predict`` returns ``[n, n_columns]``."""

    def __init__(self, kind: str, seed: int = 0):
        if kind not in SURROGATES:
            raise InvalidInput(f"unknown predictor {kind!r} for linas; known: {', '.join(SURROGATES)}")
        self.kind, self.seed = kind, seed
        self.models: list[list] = []

    def _candidates(self, n: int) -> list:
        ridge = _grid(Ridge(), {"alpha": np.logspace(-2, 1, 9)}, n, self.seed)
        svr = _grid(SVR(kernel="rbf", gamma="auto", epsilon=0.0), {"C": np.logspace(0, 2, 9)}, n, self.seed)
        gbm = GradientBoostingRegressor(n_estimators=200, max_depth=3, learning_rate=0.05, subsample=0.8,
                                        random_state=self.seed)
        return {"dynast": [ridge, svr], "ridge": [ridge], "svr": [svr], "gbm": [gbm],
                "ensemble": [ridge, svr, gbm]}[self.kind]

    def fit(self, X: np.ndarray, Y: np.ndarray) -> "Surrogate":
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64).reshape(len(X), -1)
        self.keep = np.flatnonzero(X.var(axis=0) > 0)
        if self.keep.size == 0:
            self.keep = np.arange(X.shape[1])
        X = X[:, self.keep]
        self.scale = np.ones(Y.shape[1])
        self.models = []
        for col in range(Y.shape[1]):
            y = Y[:, col]
            top = np.abs(y).max()
            self.scale[col] = 10.0 ** (np.floor(np.log10(top)) - 1.0) if top > 0 else 1.0
            fitted = []
            for model in self._candidates(len(y)):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(X, y / self.scale[col])
                fitted.append(model)
            if self.kind == "dynast":  # keep the better of ridge and SVR, as DyNAS-T
                fitted = [max(fitted, key=lambda m: m.best_score_)]
            self.models.append(fitted)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)[:, self.keep]
        out = np.empty((len(X), len(self.models)))
        for col, fitted in enumerate(self.models):
            out[:, col] = np.mean([m.predict(X) for m in fitted], axis=0) * self.scale[col]
        return out
