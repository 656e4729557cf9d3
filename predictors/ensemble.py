"""``ensemble``: the mean of several fitted predictors, and their spread as an uncertainty estimate."""

from __future__ import annotations

import numpy as np

from search_spaces.errors import InvalidInput

from ._base import PREDICTORS, Predictor, register_predictor

__all__ = ["EnsemblePredictor", "DEFAULT_MEMBERS"]

# measured best on the OFA-MobileNetV3 ImageNet data (benchmarks/predictors.py): kinds that err differently
DEFAULT_MEMBERS = ({"kind": "svr"}, {"kind": "mlp"}, {"kind": "ridge"})


@register_predictor("ensemble")
class EnsemblePredictor(Predictor):
    """Params: ``members``, a list of ``{"kind": K, **params}``; member ``i`` is fitted with seed ``seed + i``.

    Members share the ensemble's feature encoding, so a batch is featurized once.
    """

    def __init__(self, space, features="onehot", derived="auto", members=DEFAULT_MEMBERS):
        members = [dict(m) for m in members]
        if not members:
            raise InvalidInput("an ensemble needs at least one member")
        for m in members:
            if not isinstance(m.get("kind"), str) or m["kind"] == "ensemble":
                raise InvalidInput(f"ensemble member {m!r} needs a 'kind' other than ensemble; known: "
                                   f"{', '.join(k for k in PREDICTORS.names() if k != 'ensemble')}")
        super().__init__(space, features, derived, members=members)
        self.members = [PREDICTORS.get(m["kind"])(space, features=self.features, derived=self.derived,
                                                  **{k: v for k, v in m.items() if k != "kind"}) for m in members]

    def _fit(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        for i, member in enumerate(self.members):
            member.fit_features(X, y, seed + i)

    def _all(self, X: np.ndarray) -> np.ndarray:
        return np.stack([m._predict(X.astype(m.dtype, copy=False)) for m in self.members])

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self._all(X).mean(axis=0)

    def predict_with_std(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean of the members and their standard deviation (how much they disagree)."""
        self._check_fitted()
        every = self._all(self.featurize(genomes))
        return every.mean(axis=0), every.std(axis=0)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {f"m{i}.{k}": v for i, m in enumerate(self.members) for k, v in m._arrays().items()}

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        for i, member in enumerate(self.members):
            prefix = f"m{i}."
            member._load_arrays({k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})
            member.fitted = True
