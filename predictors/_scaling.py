"""Column standardization shared by the scikit-learn based kinds (stored as arrays, never pickled)."""

from __future__ import annotations

import numpy as np

__all__ = ["Standardizer"]


class Standardizer:
    """``(X - mean) / scale``; constant columns (e.g. a one-hot column no row uses) keep scale 1."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)

    @classmethod
    def fit(cls, X: np.ndarray) -> "Standardizer":
        scale = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(scale > 1e-12, scale, 1.0))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale

    def arrays(self, prefix: str = "x") -> dict[str, np.ndarray]:
        return {f"{prefix}_mean": self.mean, f"{prefix}_scale": self.scale}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str = "x") -> "Standardizer":
        out = cls(arrays[f"{prefix}_mean"], arrays[f"{prefix}_scale"])
        # one value per feature: a shorter array would broadcast over every column without an error
        if out.mean.ndim != 1 or out.mean.shape != out.scale.shape:
            raise ValueError(f"{prefix}_mean {out.mean.shape} and {prefix}_scale {out.scale.shape} must be one "
                             "value per feature")
        if not (out.scale > 0).all():
            raise ValueError(f"{prefix}_scale must be positive")
        return out

    def check_columns(self, n: int, what: str) -> None:
        if self.mean.shape != (n,):
            raise ValueError(f"{what} has {n} features but the scaling has {self.mean.shape[0]}")
