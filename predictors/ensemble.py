"""``ensemble``: the mean of several fitted predictors, and their spread as an uncertainty estimate."""

from __future__ import annotations

import numpy as np

from search_spaces.errors import InvalidInput, NasError

from ._base import MAX_SEED, PREDICTORS, Option, Predictor, register_predictor

__all__ = ["EnsemblePredictor", "DEFAULT_MEMBERS"]

# measured best on the OFA-MobileNetV3 ImageNet data (benchmarks/predictors.py): kinds that err differently
DEFAULT_MEMBERS = ({"kind": "svr"}, {"kind": "mlp"}, {"kind": "ridge"})


@register_predictor("ensemble")
class EnsemblePredictor(Predictor):
    """Params: ``members``, a list of ``{"kind": K, **params}`` (or just kind names); member ``i`` is fitted
    with seed ``seed + i``.

    Members share the ensemble's feature encoding, so a batch is featurized once.
    """

    options = {"members": Option(list, [dict(m) for m in DEFAULT_MEMBERS], item=dict, min_len=1,
                                 text="a non-empty list of member kinds or {\"kind\": K, ...option: value} objects",
                                 example='svr,mlp or [{"kind": "svr", "C": 10}, "ridge"]')}

    def __init__(self, space, features="onehot", derived="auto", **params):
        members = params.get("members", DEFAULT_MEMBERS)
        if isinstance(members, str) and members.strip():  # "svr,mlp" (as --option members=svr,mlp gives it)
            members = [m.strip() for m in members.split(",") if m.strip()]
        if isinstance(members, (list, tuple)):  # kind names stand for {"kind": name}
            params["members"] = [{"kind": m} if isinstance(m, str) else m for m in members]
        super().__init__(space, features, derived, **params)
        kinds = [k for k in PREDICTORS.names() if k != "ensemble"]
        self.members = []
        for i, m in enumerate(self.params["members"], 1):
            kind = m.get("kind")
            if not isinstance(kind, str) or kind not in kinds:
                raise InvalidInput(f"ensemble member {i} ({_short(m)}) needs a 'kind' other than ensemble; known: "
                                   f"{', '.join(kinds)}")
            shared = [k for k in ("features", "derived") if k in m]
            if shared:
                raise InvalidInput(f"ensemble member {i} ({kind}) cannot set {shared[0]!r}: members share the "
                                   f"ensemble's features")
            try:
                self.members.append(PREDICTORS.get(kind)(space, features=self.features, derived=self.derived,
                                                         **{k: v for k, v in m.items() if k != "kind"}))
            except NasError as exc:
                raise InvalidInput(f"ensemble member {i}: {exc}") from None
            except TypeError as exc:  # a plugin kind without declared options
                raise InvalidInput(f"ensemble member {i} ({kind}): {' '.join(str(exc).split())}") from None

    def _fit(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        for i, member in enumerate(self.members):
            member.fit_features(X, y, (seed + i) % (MAX_SEED + 1))  # wraps only at the largest seeds

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


def _short(member: dict) -> str:
    text = repr(member)
    return text if len(text) <= 60 else text[:57] + "..."
