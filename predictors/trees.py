"""``gbm``: gradient-boosted regression trees (scikit-learn), stored as flat node arrays and evaluated with
numpy, all trees of a batch at once (one gather per tree level, no per-tree Python loop)."""

from __future__ import annotations

import numpy as np

from ._base import Option, Predictor, register_predictor

__all__ = ["GBMPredictor", "MAX_ESTIMATORS"]

_CHUNK = 2048  # rows per block: the walk holds chunk x n_trees node indices
#: most boosting rounds (500 by default): each is a tree fitted in turn, so 10**12 would never end
MAX_ESTIMATORS = 100_000


@register_predictor("gbm")
class GBMPredictor(Predictor):
    """Params: ``n_estimators``, ``learning_rate``, ``max_depth``, ``subsample`` (stochastic boosting, seeded)."""

    options = {"n_estimators": Option(int, 500, ge=1, le=MAX_ESTIMATORS), "learning_rate": Option(float, 0.05, gt=0),
               "max_depth": Option(int, 3, ge=1), "subsample": Option(float, 0.8, gt=0, le=1)}

    def _fit(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        from sklearn.ensemble import GradientBoostingRegressor

        p = self.params
        model = GradientBoostingRegressor(n_estimators=p["n_estimators"], learning_rate=p["learning_rate"],
                                          max_depth=p["max_depth"], subsample=p["subsample"], random_state=seed)
        model.fit(X, y)
        trees = [est[0].tree_ for est in model.estimators_]
        width = max(t.node_count for t in trees)
        n = len(trees)
        self.left = np.full((n, width), -1, dtype=np.int32)
        self.right = np.full((n, width), -1, dtype=np.int32)
        self.feature = np.zeros((n, width), dtype=np.int32)
        self.threshold = np.zeros((n, width), dtype=np.float64)
        self.value = np.zeros((n, width), dtype=np.float64)
        for i, t in enumerate(trees):
            k = t.node_count
            self.left[i, :k], self.right[i, :k] = t.children_left, t.children_right
            self.feature[i, :k] = np.maximum(t.feature, 0)  # leaves carry -2; never read
            self.threshold[i, :k] = t.threshold
            self.value[i, :k] = t.value[:, 0, 0] * model.learning_rate
        self.base = float(np.asarray(model.init_.predict(X[:1])).reshape(-1)[0])
        self._cache()

    def _cache(self) -> None:
        self._depth = _max_depth(self.left, self.right)
        self._tree = np.arange(len(self.left))[None, :]

    def _predict(self, X: np.ndarray) -> np.ndarray:
        X = X.astype(np.float32)  # scikit-learn's trees split float32 features
        out = np.empty(len(X))
        for start in range(0, len(X), _CHUNK):
            x = X[start:start + _CHUNK]
            rows = np.arange(len(x))[:, None]
            node = np.zeros((len(x), self.left.shape[0]), dtype=np.int32)
            for _ in range(self._depth):
                left = self.left[self._tree, node]
                go_left = x[rows, self.feature[self._tree, node]] <= self.threshold[self._tree, node]
                node = np.where(left < 0, node, np.where(go_left, left, self.right[self._tree, node]))
            out[start:start + _CHUNK] = self.value[self._tree, node].sum(axis=1)
        return out + self.base

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"left": self.left, "right": self.right, "feature": self.feature, "threshold": self.threshold,
                "value": self.value, "base": np.float64(self.base)}

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.left, self.right = arrays["left"].astype(np.int32), arrays["right"].astype(np.int32)
        self.feature = arrays["feature"].astype(np.int32)
        self.threshold, self.value = arrays["threshold"].astype(np.float64), arrays["value"].astype(np.float64)
        self.base = float(arrays["base"])
        shapes = {a.shape for a in (self.left, self.right, self.feature, self.threshold, self.value)}
        if len(shapes) != 1 or self.left.ndim != 2:
            raise ValueError(f"tree arrays disagree in shape: {sorted(shapes)}")
        if self.left.max(initial=-1) >= self.left.shape[1] or self.right.max(initial=-1) >= self.left.shape[1]:
            raise ValueError("a tree node points past its tree")
        if self.feature.size and not 0 <= self.feature.min() <= self.feature.max() < self.n_features:
            raise ValueError(f"a tree splits on feature {self.feature.max()} of {self.n_features}")
        self._cache()


def _max_depth(left: np.ndarray, right: np.ndarray) -> int:
    """Levels of the deepest tree (a breadth-first sweep over all trees together)."""
    tree = np.arange(len(left))[:, None]
    frontier = np.zeros((len(left), 1), dtype=np.int64)
    depth = 0
    while True:
        alive = frontier >= 0
        safe = np.where(alive, frontier, 0)
        children = np.concatenate([np.where(alive, left[tree, safe], -1), np.where(alive, right[tree, safe], -1)], 1)
        if (children < 0).all():
            return depth
        depth += 1
        frontier = children
        if depth > left.shape[1]:
            raise ValueError("tree arrays contain a cycle")
