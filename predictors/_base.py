"""The Predictor contract: fit / predict over batches of genomes, saved as JSON + NPZ (never pickle).

A predictor belongs to one search space (its layout signature is stored and checked on load) and
maps genomes to a scalar (e.g. ImageNet top-1 in %). Features come from the space
(``space.features(genomes, kind)``), optionally with derived columns (MACs, params).
"""

from __future__ import annotations

import json
import zipfile
import zlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from search_spaces import Registry, SearchSpace, Structured, get_space
from search_spaces.checks import MAX_SEED, check_regular_file, check_seed, parse_json_text
from search_spaces.errors import InvalidInput, NasError, NotSupported
from search_spaces.fileio import atomic_paths

from ._options import Option, check_options

__all__ = ["Predictor", "PREDICTORS", "register_predictor", "create_predictor", "list_predictor_kinds",
           "load_predictor", "header_path", "check_output_path", "check_seed", "Option", "FORMAT", "DERIVED",
           "MAX_SEED"]

FORMAT = "nas-predictor/1"
DERIVED = ("macs", "params")  # counts a space can add as log features


class Predictor(ABC):
    """Subclasses implement ``_fit``, ``_predict`` and the (de)serialization of their arrays, and declare
    their parameters in ``options`` (name -> ``Option``): creating one checks the given parameters against
    them (unknown name, wrong type, out of range: ``InvalidInput``) and fills in the defaults."""

    kind: ClassVar[str] = ""
    dtype: ClassVar[type] = np.float64  # what _predict computes in (the MLP runs in float32)
    options: ClassVar[dict[str, Option] | None] = None  # None: a plugin kind that checks its own parameters

    def __init__(self, space: SearchSpace, features: str = "onehot", derived: tuple[str, ...] | str = "auto",
                 **params: Any):
        if not isinstance(features, str) or features not in space.feature_kinds():
            raise InvalidInput(
                f"unknown feature encoding {features!r} for space {space.name}; "
                f"known: {', '.join(space.feature_kinds())}"
            )
        if derived == "auto":  # log MACs and params where the space can count them
            derived = DERIVED if _can_count(space) else ()
        elif isinstance(derived, str):  # "macs,params", "none" or ""
            derived = tuple(d.strip() for d in derived.split(",") if d.strip() and d.strip() != "none")
        elif derived is None:
            derived = ()
        if not isinstance(derived, (list, tuple)):
            raise InvalidInput(f"derived features must be 'auto', 'none' or a list of {', '.join(DERIVED)}; "
                               f"got {derived!r}")
        bad = [d for d in derived if d not in DERIVED]
        if bad:
            raise InvalidInput(f"unknown derived feature {bad[0]!r}; known: {', '.join(DERIVED)} (or auto, none)")
        if derived and not _can_count(space):
            raise InvalidInput(f"space {space.name} cannot count {', '.join(derived)}; use derived features 'none'")
        self.space = space
        self.features = features
        self.derived = tuple(derived)
        self.params = check_options(self.kind, self.options, params) if self.options is not None else params
        self.metadata: dict[str, Any] = {}
        self.fitted = False

    # ------------------------------------------------------------ features
    def featurize(self, genomes: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        """Feature matrix of a batch of genomes: the space's encoding, then log of each derived count."""
        genomes = self.space.check_genomes(genomes)
        X = self.space.features(genomes, self.features)
        if not self.derived:
            return X.astype(dtype, copy=False)
        counts = self.space.count(genomes)
        out = np.empty((len(X), X.shape[1] + len(self.derived)), dtype=dtype)  # one copy, straight into dtype
        out[:, :X.shape[1]] = X
        for j, name in enumerate(self.derived):
            out[:, X.shape[1] + j] = np.log(counts[name].astype(np.float64))
        return out

    @property
    def n_features(self) -> int:
        if "_n_features" not in self.__dict__:
            probe = np.zeros((1, self.space.n_genes), dtype=np.int64)
            self.__dict__["_n_features"] = int(self.featurize(probe).shape[1])
        return self.__dict__["_n_features"]

    # ----------------------------------------------------------- fit/predict
    def fit(self, genomes: np.ndarray, y: np.ndarray, seed: int = 0) -> "Predictor":
        """Fit on a batch of genomes and their measured values (e.g. top-1 in %)."""
        return self.fit_features(self.featurize(genomes), y, seed)

    def fit_features(self, X: np.ndarray, y: np.ndarray, seed: int = 0) -> "Predictor":
        """Fit on a feature matrix as ``featurize`` makes it (lets cross-validation featurize once)."""
        X = self._check_features(X)
        if y is None:
            raise InvalidInput("no labels given: a predictor needs one measured value per subnet")
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if len(y) != len(X):
            raise InvalidInput(f"got {len(X)} genomes but {len(y)} labels")
        if not np.all(np.isfinite(y)):
            raise InvalidInput(f"labels contain {int((~np.isfinite(y)).sum())} NaN or infinite values")
        if len(y) < 2:
            raise InvalidInput(f"a predictor needs at least 2 labelled subnets to fit; got {len(y)}")
        self._fit(X.astype(np.float64, copy=False), y, check_seed(seed))
        self.fitted = True
        return self

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        """Predicted values of a batch of genomes, shape ``[n]`` (the search's batch objective)."""
        self._check_fitted()
        return self._predict(self.featurize(genomes, self.dtype))

    def predict_features(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        return self._predict(self._check_features(X).astype(self.dtype, copy=False))

    def predict_with_std(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and an uncertainty estimate, for kinds that have one."""
        raise NotSupported(f"{self.kind} predictors have no uncertainty estimate; use an ensemble")

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise InvalidInput(f"{self.kind} predictor is not fitted")

    def _check_features(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        want = self.n_features
        if X.ndim != 2 or X.shape[1] != want:
            raise InvalidInput(f"feature matrix of shape {X.shape} does not fit this predictor: expected [n, {want}] "
                               f"({self.features} features of {self.space.name}"
                               f"{' + log ' + ', '.join(self.derived) if self.derived else ''})")
        if X.dtype.kind not in "fiub" or not np.all(np.isfinite(X)):
            raise InvalidInput("feature matrix must be finite numbers")
        return X

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
        path = check_output_path(path)
        header = {"format": FORMAT, "kind": self.kind, "space": self.space.name,
                  "layout": self.space.layout_signature(), "features": self.features, "derived": list(self.derived),
                  "n_features": self.n_features, "params": self.params, "metadata": self.metadata}
        text = json.dumps(header, indent=2, default=_json_default).encode()
        with atomic_paths([path.with_suffix(".npz"), path]) as (npz, header_tmp):
            with open(npz, "wb") as f:
                np.savez_compressed(f, **self._arrays())
            header_tmp.write_bytes(text)
        return path


def _can_count(space: SearchSpace) -> bool:
    return isinstance(space, Structured)


def check_output_path(path: str | Path) -> Path:
    """The header path a predictor saved as ``path`` gets, or ``InvalidInput`` when it or its NPZ is a directory
    (checked before a long fit, so that nothing is fitted in vain or half-written)."""
    hpath = header_path(path)
    for p in (Path(path), hpath, hpath.with_suffix(".npz")):
        if p.is_dir():
            raise InvalidInput(f"cannot write predictor {p}: it is a directory; give the predictor's file name "
                               f"P (P.json + P.npz are written)")
    return hpath


def header_path(path: str | Path) -> Path:
    """``P``, ``P.json`` or ``P.npz`` -> ``P.json`` (names like ``ofa-mbv3-w1.2`` keep their dots)."""
    path = Path(path)
    return path.with_suffix(".json") if path.suffix in (".json", ".npz") else path.with_name(path.name + ".json")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


PREDICTORS: Registry[type[Predictor]] = Registry("predictor kind", entry_point_group="nas.predictors")


def register_predictor(kind: str):
    """Class decorator: registers a predictor kind (and sets ``cls.kind``)."""
    return PREDICTORS.register_class(kind, "kind")


def create_predictor(kind: str, space: SearchSpace | str, **params: Any) -> Predictor:
    """A new, unfitted predictor; an unknown kind, option or a bad option value is ``InvalidInput``/``UnknownName``."""
    space = get_space(space) if isinstance(space, str) else space
    cls = PREDICTORS.get(kind)
    try:
        return cls(space, **params)
    except TypeError as exc:  # a plugin kind without declared options, given a parameter it does not take
        raise InvalidInput(f"cannot create a {kind} predictor with options "
                           f"{', '.join(map(str, params)) or 'none'}: {' '.join(str(exc).split())}") from None


def list_predictor_kinds() -> list[str]:
    return PREDICTORS.names()


EXPECTED = "a saved predictor is the P.json + P.npz pair that `nas predictor fit` (or Predictor.save) writes"


def load_predictor(path: str | Path, space: SearchSpace | str | None = None) -> Predictor:
    """Load a saved predictor; raise ``InvalidInput`` for a missing, corrupt or other-space file."""
    given = Path(path)
    hpath = header_path(path)
    for file in dict.fromkeys((given, hpath, hpath.with_suffix(".npz"))):  # a named pipe would block the read
        check_regular_file(file, "predictor file")
    if not hpath.is_file():
        if given.is_dir():
            raise InvalidInput(f"{given} is a directory, not a saved predictor; {EXPECTED}")
        if given != hpath and given.is_file() and given.suffix != ".npz":
            raise InvalidInput(f"{given} is not a saved predictor (there is no {hpath.name}); {EXPECTED}")
        if given.suffix == ".npz" and given.is_file():
            raise InvalidInput(f"predictor header {hpath} is missing beside {given.name}; {EXPECTED}")
        raise InvalidInput(f"predictor file {hpath} does not exist; {EXPECTED}")
    try:
        header = parse_json_text(hpath.read_text(), "it")
    except (InvalidInput, UnicodeDecodeError) as exc:  # "it is not JSON (...)", "it is JSON nested too deeply ..."
        raise InvalidInput(f"{hpath} is not a saved predictor ({exc}); {EXPECTED}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InvalidInput(f"{hpath} is not a saved predictor (no format {FORMAT!r}); {EXPECTED}")
    missing = [k for k in ("kind", "space", "layout", "features") if k not in header]
    if missing:
        raise InvalidInput(f"predictor file {hpath} is corrupt: no {', '.join(missing)}")
    if not isinstance(header["space"], str) or not isinstance(header["kind"], str):
        raise InvalidInput(f"predictor file {hpath} is corrupt: its kind and space must be names")
    if not isinstance(header.get("params", {}), dict):
        raise InvalidInput(f"predictor file {hpath} is corrupt: its params must be an object")
    try:
        wanted = None if space is None else get_space(space) if isinstance(space, str) else space
        own_space = wanted if wanted is not None else get_space(header["space"])
        cls = PREDICTORS.get(header["kind"])
    except NasError as exc:
        raise type(exc)(f"predictor file {hpath}: {exc}") from None
    if wanted is not None and wanted.layout_signature() != header["layout"]:
        raise InvalidInput(f"predictor {hpath.name} was fitted for space {header['space']}, not {wanted.name}")
    if wanted is None and own_space.layout_signature() != header["layout"]:
        raise InvalidInput(f"predictor {hpath.name} does not match the registered space {header['space']}")
    try:
        predictor = cls(own_space, features=header["features"], derived=tuple(header.get("derived") or ()),
                        **header.get("params", {}))
    except TypeError as exc:
        raise InvalidInput(f"predictor file {hpath} has parameters a {header['kind']} predictor does not take: "
                           f"{exc}") from None
    except NasError as exc:
        raise type(exc)(f"predictor file {hpath}: {exc}") from None
    npz = hpath.with_suffix(".npz")
    try:
        with np.load(npz, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise InvalidInput(f"predictor arrays {npz} are missing or corrupt: {exc}") from None
    _check_arrays(arrays, npz)
    try:
        predictor._load_arrays(arrays)
        predictor.fitted = True
        probe = predictor.predict(np.zeros((1, own_space.n_genes), dtype=np.int64))  # arrays fit the features?
        if probe.shape != (1,):
            raise ValueError(f"a prediction of shape {probe.shape} for one subnet")
    except (KeyError, ValueError, IndexError, TypeError) as exc:
        raise InvalidInput(f"predictor arrays in {npz} do not fit a {header['kind']} predictor of "
                           f"{header.get('n_features', '?')} features: {exc}") from None
    predictor.metadata = header["metadata"] if isinstance(header.get("metadata"), dict) else {}
    return predictor


def _check_arrays(arrays: dict[str, np.ndarray], npz: Path) -> None:
    """Numbers, and finite ones: a NaN weight (a diverged fit, or a hand-edited file) would otherwise only
    surface as a traceback mid-search, after the run directory was written."""
    for name, array in arrays.items():
        if array.dtype.kind not in "biuf":
            raise InvalidInput(f"predictor arrays in {npz} are damaged: {name!r} holds {array.dtype} values, "
                               "not numbers; refit the predictor")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise InvalidInput(f"predictor arrays in {npz} are damaged: {name!r} holds NaN or infinite values "
                               "(a diverged fit?); refit the predictor")
