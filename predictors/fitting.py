"""Fit and evaluate predictors on results CSVs, with the provenance a fitted predictor carries."""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from search_spaces import SearchSpace

from ._base import Predictor, create_predictor, load_predictor
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
    raw = read_subnets(paths, space, label)
    data = raw.deduplicate()

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
    model = predictor if isinstance(predictor, Predictor) else load_predictor(predictor)
    data = read_subnets(paths, model.space, label, narrow=False).deduplicate()
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
