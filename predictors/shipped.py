"""Predictors shipped with the engine (``predictors/artifacts``), each fitted by a committed script."""

from __future__ import annotations

from pathlib import Path

from search_spaces import SearchSpace, family_of
from search_spaces.checks import read_json_file
from search_spaces.errors import InvalidInput

from ._base import FORMAT, Predictor, load_predictor

__all__ = ["ARTIFACTS", "shipped_predictors", "shipped_predictor", "resolve_predictor"]

ARTIFACTS = Path(__file__).parent / "artifacts"


def shipped_predictors() -> list[dict]:
    """Header (kind, space, metadata with provenance and measured quality) of every shipped predictor."""
    out = []
    for path in sorted(ARTIFACTS.glob("*.json")):
        try:
            header = read_json_file(path)
        except InvalidInput:
            continue  # load_predictor reports a broken file when someone asks for it
        if isinstance(header, dict) and header.get("format") == FORMAT:
            out.append({"name": path.stem, "path": str(path),
                        **{k: header.get(k) for k in ("kind", "space", "metadata")}})
    return out


def shipped_predictor(space: SearchSpace) -> Predictor | None:
    """The shipped predictor for ``space`` or for a restriction of it (e.g. ``ofa-mbv3[r=224]``), if any."""
    for info in shipped_predictors():
        if isinstance(info["space"], str) and family_of(info["space"]) == space.family:
            return load_predictor(info["path"])
    return None


def resolve_predictor(ref: str | Path) -> Predictor:
    """A predictor file (``P``, ``P.json``) or the name of a shipped one (see ``nas predictors``)."""
    names = {info["name"]: info["path"] for info in shipped_predictors()}
    if str(ref) in names:
        return load_predictor(names[str(ref)])
    path = Path(ref)
    if path.exists() or path.with_name(path.name + ".json").exists() or path.suffix in (".json", ".npz"):
        return load_predictor(path)
    raise InvalidInput(f"no predictor file {ref} and no shipped predictor of that name; shipped: "
                       f"{', '.join(names) or 'none'}")
