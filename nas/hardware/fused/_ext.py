"""Build and load the fused-block C++ kernels (``csrc/*.cpp``) as the ``torch.ops.nas_fused`` library.

The sources are compiled once per machine with ``torch.utils.cpp_extension.load`` (ninja, ``-O3 -mavx2
-mfma -fopenmp``) into ``nas.io.cache_dir()/fused/<key>/``, where ``key`` hashes the sources, the flags,
the torch version and the Python ABI, so a changed source rebuilds and everything else is reused. The
result is a plain shared library that registers its ops with ``TORCH_LIBRARY(nas_fused, m)``: an
exported model that calls them needs only ``torch.ops.load_library(library_path())``, not this engine.

``available()`` says whether the library built and loaded here; ``error()`` is the one-line reason
when it did not (no compiler, no AVX2/FMA, a failed build).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sys
import threading
from pathlib import Path

import torch

__all__ = ["available", "error", "load", "library_path", "build_key", "SOURCES", "FLAGS"]

CSRC = Path(__file__).resolve().parent / "csrc"
SOURCES = (CSRC / "inverted_residual.cpp", CSRC / "conv_block.cpp")
HEADERS = (CSRC / "common.h",)
FLAGS = ("-O3", "-mavx2", "-mfma", "-fopenmp", "-std=c++17")
LDFLAGS = ("-fopenmp",)

_lock = threading.Lock()
_state: dict[str, object] = {}


def build_key() -> str:
    h = hashlib.sha256()
    for src in SOURCES + HEADERS:
        h.update(src.name.encode())
        h.update(src.read_bytes())
    h.update(" ".join(FLAGS + LDFLAGS).encode())
    h.update(torch.__version__.encode())
    h.update(f"{sys.implementation.cache_tag}-{platform.machine()}".encode())
    return h.hexdigest()[:16]


def _build_dir() -> Path:
    from nas.io import cache_dir

    return cache_dir() / "fused" / build_key()


def _module_name() -> str:
    return f"nas_fused_{build_key()}"


def library_path() -> Path:
    """Where the compiled library lies (it exists once ``load()`` succeeded)."""
    return _build_dir() / f"{_module_name()}.so"


def _cpu_has_avx2_fma() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: let the compiler and loader decide
        return True
    words = set(flags.split())
    return "avx2" in words and "fma" in words


def _compiler() -> str | None:
    cxx = os.environ.get("CXX", "c++")
    return shutil.which(cxx)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    for line in text:  # the first compiler error line is the useful one
        if "error:" in line:
            return f"{type(exc).__name__}: {line.strip()}"
    return f"{type(exc).__name__}: {text[-1] if text else ''}".strip()


def load(verbose: bool = False) -> Path:
    """Build (once) and load the library; returns its path. Raises ``RuntimeError`` with a one-line
    reason when it cannot."""
    with _lock:
        if "path" in _state:
            return _state["path"]  # type: ignore[return-value]
        if "error" in _state:
            raise RuntimeError(_state["error"])
        try:
            path = _load(verbose)
        except Exception as exc:  # noqa: BLE001 -- any failure means "not available", with its reason
            _state["error"] = exc.args[0] if isinstance(exc, _Unavailable) else _one_line(exc)
            raise RuntimeError(_state["error"]) from exc
        _state["path"] = path
        return path


class _Unavailable(Exception):
    pass


def _load(verbose: bool) -> Path:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        raise _Unavailable(f"fused kernels need x86-64 with AVX2 (this is {platform.machine()})")
    if not _cpu_has_avx2_fma():
        raise _Unavailable("fused kernels need AVX2 and FMA; this CPU lacks them")
    if _compiler() is None:
        raise _Unavailable(f"no C++ compiler: {os.environ.get('CXX', 'c++')} not found on PATH")
    if not all(hasattr(torch.ops.nas_fused, op) for op in ("inverted_residual", "conv_block")):
        path = library_path()
        if not path.exists():
            from torch.utils.cpp_extension import load as cpp_load

            path.parent.mkdir(parents=True, exist_ok=True)
            cpp_load(name=_module_name(), sources=[str(s) for s in SOURCES], extra_cflags=list(FLAGS),
                     extra_ldflags=list(LDFLAGS), build_directory=str(path.parent), is_python_module=False,
                     verbose=verbose)  # builds, then loads it with torch.ops.load_library
        else:
            torch.ops.load_library(str(path))
    from . import _meta  # noqa: F401  (fake implementation for torch.compile / torch.export)

    return library_path()


def available() -> bool:
    """Whether the fused kernels compiled and loaded on this machine (builds them on first call)."""
    try:
        load()
    except RuntimeError:
        return False
    return True


def error() -> str | None:
    """Why the kernels are not available (one line), or None when they are."""
    return None if available() else str(_state.get("error"))
