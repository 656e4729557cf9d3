"""Fit and evaluate predictors on results CSVs, with the provenance a fitted predictor carries."""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from search_spaces import SearchSpace
from search_spaces.errors import InvalidInput

from ._base import Predictor, check_seed, create_predictor, load_predictor
from .data import LabelledSubnets, read_subnets
from .metrics import quality
from .validation import CVResult, cross_validate

__all__ = ["fit_on_data", "evaluate_on_data", "data_provenance", "software_versions"]


def fit_on_data(space: SearchSpace | str, paths: Sequence[str | Path], kind: str = "mlp", *,
                params: dict[str, Any] | None = None, features: str = "onehot", derived: Any = "auto",
                label: str | None = None, folds: int = 5, seed: int = 0, command: str | None = None,
                on_fold: Callable[[int], None] | None = None) -> tuple[Predictor, CVResult | None, LabelledSubnets]:
    """Read, de-duplicate (mean label per canonical arch), cross-validate with grouped folds, fit on all.

    The returned predictor's metadata holds the data provenance, the command and the CV quality
    (``metadata["cv"]["kendall_tau"]``, ``["rmse"]``, ...).
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    seed = check_seed(seed)
    if not (isinstance(folds, (int, np.integer)) and not isinstance(folds, bool) and (folds == 0 or folds >= 2)):
        raise InvalidInput(f"cross-validation folds must be 0 (none) or an integer >= 2; got {folds!r}")
    if params is not None and not isinstance(params, dict):
        raise InvalidInput(f"predictor params must be a dict of option values; got {type(params).__name__}")
    create_predictor(kind, space, features=features, derived=derived, **(params or {}))  # bad kind/options: fail now
    raw = read_subnets(paths, space, label)
    data = raw.deduplicate()
    if len(data) < 2:
        cv = f", and {folds}-fold cross-validation at least {2 * folds} (2 per fold)" if folds else ""
        raise InvalidInput(f"{_has(raw, data, paths)}: fitting needs at least 2 distinct measured subnets{cv}")
    if folds and len(data) < 2 * folds:
        fewer = f"use at most {len(data) // 2} folds, or 0" if len(data) >= 4 else "use 0 folds"
        raise InvalidInput(f"{_has(raw, data, paths)}: {folds}-fold cross-validation needs at least {2 * folds} "
                           f"(2 per fold); {fewer} to skip cross-validation")
    if np.all(data.y == data.y[0]):
        raise InvalidInput(f"every subnet in the data has the same {data.label!r} ({data.y[0]:g}): there is nothing "
                           f"to learn; is {data.label!r} the measured accuracy column?")

    def make() -> Predictor:
        return create_predictor(kind, data.space, features=features, derived=derived, **(params or {}))

    cv = cross_validate(make, data, folds, seed, on_fold) if folds else None
    model = make().fit(data.genomes, data.y, seed)
    model.metadata = {
        "target": data.label,
        "source": data_provenance(raw, paths),
        "fit": {"kind": kind, "features": model.features, "derived": list(model.derived), "params": model.params,
                "seed": seed, "rows_used": len(data), "labels": "mean of repeated measurements per canonical arch"},
        "cv": cv.summary() if cv is not None else {},
        "fit_command": command,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "software": software_versions(),
    }
    return model, cv, data


def evaluate_on_data(predictor: Predictor | str | Path, paths: Sequence[str | Path], label: str | None = None,
                     plot: str | Path | None = None) -> dict[str, Any]:
    """Metrics of ``predictor`` on measured subnets (one row per canonical arch), and optionally a scatter PNG."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if plot is not None:
        from .plots import check_png_path

        check_png_path(plot)
    model = predictor if isinstance(predictor, Predictor) else load_predictor(predictor)
    raw = read_subnets(paths, model.space, label, narrow=False)
    data = raw.deduplicate()
    if len(data) < 2:
        raise InvalidInput(f"{_has(raw, data, paths)}: evaluating a predictor needs at least 2 distinct measured "
                           f"subnets")
    predicted = model.predict(data.genomes)
    metrics = quality(data.y, predicted)
    out = {"predictor": model.kind, "space": model.space.name, "label": data.label,
           "files": [Path(p).name for p in paths], "metrics": metrics,
           "shipped_cv": model.metadata.get("cv", {})}
    if plot is not None:
        from .plots import scatter_png

        out["plot"] = str(scatter_png(data.y, predicted, plot, f"{model.kind} predictor on "
                                      f"{', '.join(out['files'])}", metrics))
    return out


def _has(raw: LabelledSubnets, data: LabelledSubnets, paths: Sequence[str | Path]) -> str:
    """``the data (a.csv, b.csv) has ...`` for messages about too little data."""
    names = ", ".join(Path(p).name for p in paths)
    if len(raw) == 0:
        return f"the data ({names}) has no rows, only a header"
    repeats = f" ({len(raw)} rows)" if len(raw) != len(data) else ""
    return f"the data ({names}) has only {len(data)} distinct subnet{'s' if len(data) != 1 else ''}{repeats}"


def data_provenance(raw: LabelledSubnets, paths: Sequence[str | Path]) -> dict[str, Any]:
    files = []
    for p in paths:
        p = Path(p)
        files.append({"file": f"{p.parent.name}/{p.name}", "sha256": hashlib.sha256(p.read_bytes()).hexdigest()})
    unique = len(np.unique(raw.space.keys_of(raw.genomes)))
    return {"files": files, "rows": len(raw), "unique_archs": unique, "space": raw.space.name,
            "label": raw.label, "label_range": [float(raw.y.min()), float(raw.y.max())],
            "repeat_noise": raw.repeat_noise()}


def software_versions() -> dict[str, str]:
    import scipy
    import sklearn

    versions = {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
                "scikit-learn": sklearn.__version__}
    try:
        import torch

        versions["torch"] = torch.__version__
    except ImportError:  # only the mlp kind trains with torch
        pass
    return versions
