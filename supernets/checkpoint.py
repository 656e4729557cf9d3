"""Supernet checkpoints: our own format (with the space it was made for) and once-for-all's.

Files are read with ``torch.load(weights_only=True)`` and written atomically (temp file + rename),
so an interrupted save never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from search_spaces import SearchSpace, family_of, get_space
from search_spaces.checks import torch_load_reason
from search_spaces.errors import CheckpointError, InvalidInput, NasError
from search_spaces.fileio import atomic_path
from search_spaces.names import split_overlays

from ._base import (
    FOREIGN_FORMATS,
    ForeignWeights,
    Supernet,
    _base_space,
    build_keywords,
    create_supernet,
    option_variant,
    training_keywords,
)

__all__ = ["FORMAT", "save_checkpoint", "read_checkpoint", "load_supernet", "load_weights", "atomic_torch_save",
           "checkpoint_members", "checkpoint_build_options", "fine_tune_options", "upgrade_checkpoint"]

FORMAT = "nas-supernet/1"


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def save_checkpoint(supernet: Supernet, path: str | Path, extra: Mapping[str, Any] | None = None) -> None:
    """Save weights plus the space name and layout they belong to (and any JSON-able ``extra``)."""
    payload = {
        "format": FORMAT,
        "space": supernet.space.name,
        "layout": supernet.space.layout_signature(),
        "options": supernet.build_options(),
        "state_dict": supernet.state_dict(),
        "extra": dict(extra or {}),
    }
    atomic_torch_save(payload, path)


def read_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint file safely (``upgrade_checkpoint`` applied); raise ``CheckpointError`` for missing, corrupt
    or foreign files."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a directory; expected a supernet file such as supernet.pt")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch's unpickler fails in many ways on foreign files (IndexError on text, ...)
        raise CheckpointError(f"checkpoint {path} is corrupt or not a torch file ({torch_load_reason(exc)})") from None
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"checkpoint {path} holds a {type(obj).__name__}, expected a state dict")
    return upgrade_checkpoint(dict(obj))


def upgrade_checkpoint(ckpt: dict) -> dict:
    """A checkpoint of ours named as the registry names its network now. A variant of a family that became a
    space of its own was once a build option (ViT-ResNAS's plain reduction: space vit-resnas-cifar with
    ``residual_reduction=False``); such a checkpoint names the variant's space and layout here, so that every
    reader (load, fine-tune, evaluate, search, export) gets the network that was trained, costed as that one.
    ``upgraded_from`` keeps the recorded space."""
    options, name = ckpt.get("options"), ckpt.get("space")
    if ckpt.get("format") != FORMAT or not isinstance(options, Mapping) or not isinstance(name, str):
        return ckpt
    try:
        space = get_space(name)
    except NasError:
        return ckpt  # an unknown space: loading it says so
    if ckpt.get("layout") != space.layout_signature():
        return ckpt  # not this space's checkpoint: load_weights says why
    try:
        variant = option_variant(space, options)
    except InvalidInput as exc:
        raise CheckpointError(f"checkpoint's supernet options {dict(options)!r} are damaged ({exc})") from None
    if variant is None:
        return ckpt
    variant_space = get_space(variant)
    return {**ckpt, "space": variant_space.name, "layout": variant_space.layout_signature(), "upgraded_from": name}


def checkpoint_members(ckpt: Mapping[str, Any]) -> int:
    """How many member supernets a checkpoint of ours holds (1 unless it is a mixture's)."""
    options = ckpt.get("options") or {}
    members = options.get("members", 1) if isinstance(options, Mapping) else None
    if isinstance(members, bool) or not isinstance(members, int) or members < 1:
        raise CheckpointError(f"checkpoint's supernet options {options!r} are damaged (members must be a whole "
                              "number >= 1)")
    return members


def checkpoint_build_options(ckpt: Mapping[str, Any], space: SearchSpace) -> dict:
    """The ``create_supernet`` keywords besides ``members`` a checkpoint of ours records (e.g. ViT-ResNAS's
    ``residual_reduction``), so that the supernet it rebuilds is the one that was trained; a keyword the
    family's supernet does not take says the options are damaged."""
    options = ckpt.get("options") or {}
    extra = {k: v for k, v in options.items() if k != "members"} if isinstance(options, Mapping) else {}
    if not extra:
        return {}
    params = build_keywords(space)
    unknown = [k for k in extra if k not in params]
    if unknown:
        raise CheckpointError(f"checkpoint's supernet options {options!r} are damaged ({unknown[0]!r} is not an "
                              f"option of the supernet of {space.name}; known: {', '.join(params) or 'none'})")
    return extra


def fine_tune_options(ckpt: Mapping[str, Any], space: SearchSpace, given: Mapping[str, Any], path: str = "") -> dict:
    """The build options of a supernet that starts from ``ckpt``: the checkpoint's, with ``given`` over them
    where they agree or only shape training (``training_keywords``). Any other difference is refused: the
    weights would compute another function there, and nothing else notices (ViT-ResNAS's plain and residual
    reductions have the same state dict keys and shapes)."""
    base, ckpt = _base_space(space), upgrade_checkpoint(dict(ckpt))
    if ckpt.get("format") != FORMAT or not _made_for_family(ckpt, base):
        return dict(given)  # once-for-all's, or another space's: load_weights says why it does or does not fit
    theirs, free = checkpoint_build_options(ckpt, base), training_keywords(base)
    for key, value in given.items():
        if key in theirs and key not in free and value != theirs[key]:
            raise CheckpointError(f"checkpoint {path} was trained with supernet option {key}={theirs[key]!r}, not "
                                  f"{key}={value!r}; leave the option out to fine-tune the supernet as trained")
    return {**theirs, **given}


def load_weights(supernet: Supernet, checkpoint: Mapping[str, Any] | str | Path,
                 arch: Mapping[str, Any] | None = None) -> dict:
    """Load weights (ours or once-for-all's) into ``supernet``; returns the checkpoint's metadata. A single
    supernet given a mixture's checkpoint and an ``arch`` takes the member ``arch`` is assigned to."""
    ckpt = read_checkpoint(checkpoint) if isinstance(checkpoint, (str, Path)) else upgrade_checkpoint(dict(checkpoint))
    if ckpt.get("format") == FORMAT:
        if not _made_for_family(ckpt, supernet.space):
            raise CheckpointError(f"checkpoint was made for space {_made_for(ckpt)}, not {supernet.space.name}")
        theirs, mine = checkpoint_members(ckpt), supernet.build_options().get("members", 1)
        if theirs > 1 and ckpt["layout"] != supernet.space.layout_signature():  # members split *its* archs
            raise CheckpointError(f"checkpoint holds a mixture trained on space {_made_for(ckpt)}; its members' "
                                  f"archs are assigned over that space, so it loads only into {ckpt.get('space')}")
        state, meta = ckpt["state_dict"], {k: v for k, v in ckpt.items() if k != "state_dict"}
        if theirs != mine:
            if not (mine == 1 and arch is not None):
                raise CheckpointError(_members_mismatch(theirs, mine))
            mixture = create_supernet(supernet.space, members=theirs)
            _load_state(mixture, state)
            meta["member"] = mixture.assigned_member(arch)
            state = mixture.members[meta["member"]].state_dict()
        _load_state(supernet, state)
        return meta
    state = ckpt.get("state_dict", ckpt)
    theirs = next((f for f in FOREIGN_FORMATS if isinstance(state, Mapping) and f.recognizes(state)), None)
    mine = supernet.foreign_name if isinstance(supernet, ForeignWeights) else None
    if theirs is not None and isinstance(supernet, theirs):
        supernet.load_foreign(state)
        return {"format": supernet.foreign_name, "space": supernet.space.name}
    loads = f"; supernet {supernet.space.name} loads nas-supernet checkpoints" + (f" and {mine} state dicts"
                                                                                   if mine else "")
    if theirs is not None:
        raise CheckpointError(f"checkpoint is a {theirs.foreign_name} state dict{loads}")
    known = ", ".join(f.foreign_name for f in FOREIGN_FORMATS)
    raise CheckpointError(f"checkpoint is neither a nas-supernet checkpoint nor a state dict of {known}{loads}")


def _made_for_family(ckpt: Mapping[str, Any], space: SearchSpace) -> bool:
    """Whether ``ckpt`` holds weights of ``space``'s supernet: made for it, or for another restriction of its
    family (fine-tuning a supernet on part of its space, or the whole of it from a part); where a restriction
    changes a weight's shape, loading the state dict says so."""
    try:
        return family_of(str(ckpt.get("space"))) == space.family
    except NasError:  # a damaged name: the caller's error names it
        return False


def _made_for(ckpt: Mapping[str, Any]) -> str:
    """The checkpoint's space, and what it records where ``upgrade_checkpoint`` renamed it (an older file)."""
    recorded = ckpt.get("upgraded_from")
    return str(ckpt.get("space")) + (f" (it records space {recorded} with supernet options {ckpt.get('options')!r})"
                                     if recorded else "")


def _members_mismatch(theirs: int, mine: int) -> str:
    if mine == 1:
        return (f"checkpoint holds a mixture of {theirs} supernets, and this is a single supernet; train the "
                f"mixture with members={theirs}, or fine-tune one architecture of it with strategy standalone "
                "(which takes the member that architecture is assigned to)")
    if theirs == 1:
        return (f"checkpoint holds a single supernet, and this is a mixture of {mine}; a mixture's members start "
                f"from their own initializations or from a mixture checkpoint of {mine} members")
    return f"checkpoint holds a mixture of {theirs} supernets, not {mine}"


def _load_state(supernet: Supernet, state: Mapping[str, Any]) -> None:
    try:
        supernet.load_state_dict(state)
    except RuntimeError as exc:
        lines = str(exc).splitlines()
        detail = lines[1].strip() if len(lines) > 1 else str(exc)
        raise CheckpointError(f"checkpoint does not fit supernet {supernet.space.name}: {detail}") from None


def load_supernet(path: str | Path, space: str | SearchSpace | None = None) -> tuple[Supernet, dict]:
    """Build the supernet a checkpoint was made for (or ``space``, required for once-for-all files). For an
    overlay ``space`` (``S+q``) the supernet is its base's (``S``), which a checkpoint of ``S`` fits."""
    ckpt = read_checkpoint(path)
    if space is not None and split_overlays(family_of(space if isinstance(space, str) else space.name))[1]:
        space = (get_space(space) if isinstance(space, str) else space).base  # S+q: a checkpoint of S serves it
    if ckpt.get("format") == FORMAT:
        expected = space if isinstance(space, str) else (space.name if space is not None else None)
        if expected is not None and expected not in (ckpt["space"], family_of(str(ckpt["space"]))):
            raise CheckpointError(f"checkpoint {path} was made for space {_made_for(ckpt)}, not {expected}")
        space_obj = (space if isinstance(space, SearchSpace) and space.name == ckpt["space"]
                     else get_space(ckpt["space"]))
        supernet = create_supernet(space_obj, members=checkpoint_members(ckpt),
                                   **checkpoint_build_options(ckpt, space_obj))
    elif space is None:
        raise CheckpointError(f"checkpoint {path} does not say which space it is for; pass the space explicitly")
    else:
        supernet = create_supernet(space)
    meta = load_weights(supernet, ckpt)
    return supernet, meta
