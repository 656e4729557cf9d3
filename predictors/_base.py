"""The Predictor contract: fit / predict over batches of genomes, saved as JSON + NPZ (never pickle).

A predictor belongs to one search space (its layout signature is stored and checked on load) and
maps genomes to a scalar (e.g. ImageNet top-1 in %). Features come from the space
(``space.features(genomes, kind)``), optionally with derived columns (MACs, params).
"""

from __future__ import annotations

import json
import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from search_spaces import Registry, SearchSpace, get_space
from search_spaces.errors import InvalidInput, NotSupported

__all__ = ["Predictor", "PREDICTORS", "register_predictor", "create_predictor", "list_predictor_kinds",
           "load_predictor", "FORMAT"]

FORMAT = "nas-predictor/1"


class Predictor(ABC):
    """Subclasses implement ``_fit``, ``_predict`` and the (de)serialization of their arrays."""

    kind: ClassVar[str] = ""

    def __init__(self, space: SearchSpace, features: str = "onehot", derived: tuple[str, ...] = (),
                 **params: Any):
        if features not in space.feature_kinds():
            raise InvalidInput(
                f"unknown feature encoding {features!r} for space {space.name}; known: {', '.join(space.feature_kinds())}"
            )
        self.space = space
        self.features = features
        self.derived = tuple(derived)
        self.params = params
        self.metadata: dict[str, Any] = {}
        self.fitted = False

    # ------------------------------------------------------------ features
    def featurize(self, genomes: np.ndarray) -> np.ndarray:
        genomes = self.space.check_genomes(genomes)
        X = self.space.features(genomes, self.features)
        if self.derived:
            counts = self.space.count(genomes)
            extra = [np.log(counts[name].astype(np.float64))[:, None] for name in self.derived]
            X = np.concatenate([X, *extra], axis=1)
        return X.astype(np.float64)

    # ----------------------------------------------------------- fit/predict
    def fit(self, genomes: np.ndarray, y: np.ndarray, seed: int = 0) -> "Predictor":
        X = self.featurize(genomes)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if len(y) != len(X):
            raise InvalidInput(f"got {len(X)} genomes but {len(y)} labels")
        if not np.all(np.isfinite(y)):
            raise InvalidInput(f"labels contain {int((~np.isfinite(y)).sum())} NaN or infinite values")
        if len(y) < 2:
            raise InvalidInput("a predictor needs at least 2 labelled subnets to fit")
        self._fit(X, y, seed)
        self.fitted = True
        return self

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        if not self.fitted:
            raise InvalidInput(f"{self.kind} predictor is not fitted")
        return self._predict(self.featurize(genomes))

    def predict_with_std(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and an uncertainty estimate, for kinds that have one."""
        raise NotSupported(f"{self.kind} predictors have no uncertainty estimate")

    @abstractmethod
    def _fit(self, X: np.ndarray, y: np.ndarray, seed: int) -> None: ...

    @abstractmethod
    def _predict(self, X: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _arrays(self) -> dict[str, np.ndarray]:
        """Everything needed to predict, as named numpy arrays."""

    @abstractmethod
    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None: ...

    # ------------------------------------------------------------------- files
    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.json header) and ``path`` with suffix .npz (arrays), atomically."""
        if not self.fitted:
            raise InvalidInput("cannot save a predictor that is not fitted")
        path = Path(path).with_suffix(".json")
        header = {"format": FORMAT, "kind": self.kind, "space": self.space.name,
                  "layout": self.space.layout_signature(), "features": self.features, "derived": list(self.derived),
                  "params": self.params, "metadata": self.metadata}
        _atomic_write(path.with_suffix(".npz"), lambda f: np.savez(f, **self._arrays()))
        _atomic_write(path, lambda f: f.write(json.dumps(header, indent=2, default=_json_default).encode()))
        return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


PREDICTORS: Registry[type[Predictor]] = Registry("predictor kind", entry_point_group="nas.predictors")


def register_predictor(kind: str):
    def deco(cls: type[Predictor]) -> type[Predictor]:
        cls.kind = kind
        return PREDICTORS.register(kind, cls)

    return deco


def create_predictor(kind: str, space: SearchSpace | str, **params: Any) -> Predictor:
    space = get_space(space) if isinstance(space, str) else space
    return PREDICTORS.get(kind)(space, **params)


def list_predictor_kinds() -> list[str]:
    return PREDICTORS.names()


def load_predictor(path: str | Path, space: SearchSpace | str | None = None) -> Predictor:
    """Load a saved predictor; raise ``InvalidInput`` for a missing, corrupt or other-space file."""
    path = Path(path)
    header_path = path if path.suffix == ".json" else path.with_suffix(".json")
    if not header_path.is_file():
        raise InvalidInput(f"predictor file {header_path} does not exist")
    try:
        header = json.loads(header_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"predictor file {header_path} is corrupt: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InvalidInput(f"{header_path} is not a predictor file (format {FORMAT})")
    own_space = get_space(header["space"])
    if space is not None:
        wanted = get_space(space) if isinstance(space, str) else space
        if wanted.layout_signature() != header["layout"]:
            raise InvalidInput(
                f"predictor {header_path.name} was fitted for space {header['space']}, not {wanted.name}"
            )
        own_space = wanted
    elif own_space.layout_signature() != header["layout"]:
        raise InvalidInput(f"predictor {header_path.name} does not match the registered space {header['space']}")
    predictor = PREDICTORS.get(header["kind"])(own_space, features=header["features"],
                                                derived=tuple(header.get("derived", ())), **header.get("params", {}))
    try:
        with np.load(header_path.with_suffix(".npz"), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"predictor arrays {header_path.with_suffix('.npz')} are missing or corrupt: {exc}") from None
    try:
        predictor._load_arrays(arrays)
    except (KeyError, ValueError) as exc:
        raise InvalidInput(f"predictor arrays in {header_path.with_suffix('.npz')} do not fit a {header['kind']} "
                           f"predictor: {exc}") from None
    predictor.metadata = header.get("metadata", {})
    predictor.fitted = True
    return predictor
