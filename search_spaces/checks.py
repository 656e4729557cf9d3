"""Input checks every package shares (pure Python: no torch import, though it reads torch's errors)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidInput

__all__ = ["MAX_SEED", "check_seed", "torch_load_reason", "read_json_file"]

MAX_SEED = 2**31 - 1  # numpy, torch and scikit-learn all take it (an ensemble adds member indices to it)


def check_seed(seed: Any, option: str = "--seed") -> int:
    """``seed`` as an int, or ``InvalidInput`` naming ``option`` unless it is an integer in ``0..MAX_SEED``."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise InvalidInput(f"{option} must be an integer from 0 to {MAX_SEED}, got {seed!r}")
    return int(seed)


def torch_load_reason(exc: BaseException) -> str:
    """Why ``torch.load`` could not read a file, in a few words (torch's long ``weights_only`` advice left out)."""
    text = " ".join(str(exc).split())
    unpickler = re.search(r"WeightsUnpickler error: (.*?)(?: Check the documentation|$)", text)
    if unpickler:
        detail = unpickler.group(1)
        found = re.search(r"Unsupported global: GLOBAL (\S+)", detail)
        if found:
            return (f"it pickles a {found.group(1)} object, not a state dict of tensors "
                    f"(save the model's state_dict() instead)")
        found = re.search(r"Unsupported operand \S+", detail)
        if found:
            return f"the file is truncated or not a torch checkpoint ({found.group(0).lower()})"
        text = detail
    if isinstance(exc, (KeyError, IndexError)):  # a text file read as a legacy pickle
        return "not a pickle or zip archive"
    text = re.split(r"(?<=[^.\s]{2})\. ", text, maxsplit=1)[0].rstrip(". ")
    if "zip archive" in text:
        text += " (the file is truncated or corrupt)"
    if len(text) > 160:
        text = text[:157].rstrip() + "..."
    return text or f"{type(exc).__name__}: the file is truncated or not a torch checkpoint"


def read_json_file(path: str | Path, what: str = "file") -> Any:
    """A JSON document, or ``InvalidInput`` in one line for a missing, undecodable or absurdly nested one
    (Python's parser recurses, and a deeply nested file would otherwise surface as a RecursionError)."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except RecursionError:
        raise InvalidInput(f"cannot read {what} {path}: its JSON is nested too deeply") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {what} {path}: {exc}") from None
