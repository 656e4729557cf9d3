"""Input checks every package shares (pure Python: no torch import, though it reads torch's errors)."""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidInput

__all__ = ["MAX_SEED", "check_seed", "torch_load_reason", "parse_json_text", "read_json_file", "read_yaml_file",
           "check_regular_file", "available_memory", "format_bytes", "check_fits_in_memory"]

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


_RAISE = object()


def parse_json_text(text: str | bytes, what: str, *, not_json: Any = _RAISE) -> Any:
    """JSON text parsed, or ``InvalidInput`` in one line naming ``what`` (e.g. "table t.csv's metadata").
    Python's parser recurses once per level, so a deeply nested document would otherwise surface as a
    RecursionError traceback; every JSON the engine reads goes through here or ``read_json_file``.
    ``not_json``, when given, is returned for text that is not JSON at all (a bare word on the command line)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise InvalidInput(f"{what} is JSON nested too deeply to read: Python's parser stops at about "
                           f"{sys.getrecursionlimit()} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if not_json is not _RAISE:
            return not_json
        raise InvalidInput(f"{what} is not JSON ({exc})") from None


def read_json_file(path: str | Path, what: str = "file") -> Any:
    """A JSON document, or ``InvalidInput`` in one line for a missing, undecodable or absurdly nested one."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {what} {path}: {exc}") from None
    return parse_json_text(text, f"{what} {path}")


def read_yaml_file(path: str | Path, what: str = "file") -> Any:
    """A YAML document (``yaml.safe_load``: plain data only), or ``InvalidInput`` in one line for a missing,
    undecodable, invalid or absurdly nested one (PyYAML's composer recurses like the JSON parser)."""
    import yaml  # only the once-for-all importers read YAML

    path = Path(path)
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} {path} is not a text (YAML) file") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {what} {path}: {exc}") from None
    try:
        return yaml.safe_load(text)
    except RecursionError:
        raise InvalidInput(f"{what} {path} is YAML nested too deeply to read: Python's parser stops at about "
                           f"{sys.getrecursionlimit()} levels") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{what} {path} is not valid YAML ({' '.join(str(exc).split())[:200]})") from None


def check_regular_file(path: str | Path, what: str = "file") -> None:
    """Refuse a path that exists but is neither a regular file nor a folder (a named pipe, a device, a
    socket): reading a FIFO blocks until a writer comes, forever if none does. A missing path passes:
    the caller says so in its own words."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")
    raise InvalidInput(f"{what} {path} is not a regular file: it is {kind}; give a file")


def available_memory() -> int:
    """Bytes this machine can still allocate: psutil's available memory, else the free pages sysconf counts."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # not POSIX: no estimate, so no bound
        return 2**62


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_fits_in_memory(nbytes: float, what: str) -> None:
    """``InvalidInput`` when ``what`` (e.g. "-o population=10**11") would need more memory than is available,
    estimated before anything is allocated: otherwise the allocation fails deep inside numpy or torch with a
    traceback, or the machine swaps until the kernel kills the process."""
    free = available_memory()
    if nbytes > free:
        raise InvalidInput(f"{what} needs about {format_bytes(nbytes)} of memory, more than the "
                           f"{format_bytes(free)} this machine has available; use a smaller value")
