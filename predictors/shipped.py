"""Predictors shipped with the engine (``predictors/artifacts``), each fitted by a committed script."""

from __future__ import annotations

import json
from pathlib import Path

from search_spaces import SearchSpace

from ._base import FORMAT, Predictor, load_predictor

__all__ = ["ARTIFACTS", "shipped_predictors", "shipped_predictor"]

ARTIFACTS = Path(__file__).parent / "artifacts"


def shipped_predictors() -> list[dict]:
    """Header (kind, space, metadata with provenance and measured quality) of every shipped predictor."""
    out = []
    for path in sorted(ARTIFACTS.glob("*.json")):
        header = json.loads(path.read_text())
        if header.get("format") == FORMAT:
            out.append({"name": path.stem, "path": str(path), **{k: header[k] for k in ("kind", "space", "metadata")}})
    return out


def shipped_predictor(space: SearchSpace) -> Predictor | None:
    """The shipped predictor for ``space`` or for a restriction of it (e.g. ``ofa-mbv3[r=224]``), if any."""
    base = space.name.split("[", 1)[0]
    for info in shipped_predictors():
        if info["space"] == space.name or info["space"].split("[", 1)[0] == base:
            return load_predictor(info["path"])
    return None
