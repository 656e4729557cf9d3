"""The runtimes that run exported subnets: what each format needs installed, and one way to load any of
them as ``callable(tensor) -> tensor`` (for checks at export and for timing each runtime later).

Formats and files (``companion_paths``): ``torchscript`` (stem.pt, ``torch.jit.load``), ``pt2``
(stem.pt2, ``torch.export.load``), ``onnx`` (stem.onnx, ONNX Runtime, extra ``export``), ``aoti``
(stem.aoti.pt2, an AOTInductor package: compiled C++ loaded with ``torch._inductor.aoti_load_package``;
compiling it needs a C++ compiler), ``fused`` (stem.fused.pt, TorchScript of the subnet with its blocks on
the engine's fused C++ kernels, and stem.nas_fused.so, those kernels' library: ``torch.ops.load_library``
it, then ``torch.jit.load``; building the kernels needs a C++ compiler with AVX2). None of the files needs
this project to load.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

import torch

from search_spaces.errors import InvalidInput

__all__ = ["FORMATS", "EXTRA", "FUSED_LIBRARY_SUFFIX", "require_runtime", "load_runtime", "ort_session",
           "fused_library_beside"]

FORMATS = ("torchscript", "pt2", "onnx", "aoti", "fused")
#: the fused format's kernel library, beside its TorchScript file
FUSED_LIBRARY_SUFFIX = ".nas_fused.so"
#: the pip extra of nas-engine that installs what a format needs beyond torch
EXTRA = "export"
_MODULES = {"onnx": ("onnx", "onnxscript", "onnxruntime")}

Runner = Callable[[torch.Tensor], torch.Tensor]


def require_runtime(fmt: str, what: str | None = None) -> None:
    """Refuse, in one line naming what to install, a format whose exporter or runtime is missing (``what``:
    how the message names it, ``--format F`` by default; the latency runtimes share this check)."""
    what = what or f"--format {fmt}"
    missing = []
    for name in _MODULES.get(fmt, ()):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise InvalidInput(f"{what} needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
                           f"not installed: pip install 'nas-engine[{EXTRA}]'")
    if fmt == "aoti":
        require_compiler(what)
    if fmt == "fused":
        from nas.hardware.fused import _ext

        reason = _ext.error()
        if reason is not None:
            raise InvalidInput(f"{what} needs the engine's fused kernels, which did not build here: {reason}")


def require_compiler(what: str) -> None:
    """Refuse, in one line, work that compiles C++ where no compiler is found."""
    from torch._inductor.cpp_builder import get_cpp_compiler
    from torch._inductor.exc import InvalidCxxCompiler

    try:
        get_cpp_compiler()
    except InvalidCxxCompiler:
        raise InvalidInput(f"{what} compiles C++: no C++ compiler found; install g++ (or clang++) or "
                           "set CXX") from None


def fused_library_beside(path: str | Path) -> Path:
    """The kernel library that belongs to the fused format's file ``path`` (stem.fused.pt)."""
    path = Path(path)
    name = path.name[: -len(".fused.pt")] if path.name.endswith(".fused.pt") else path.stem
    return path.with_name(name + FUSED_LIBRARY_SUFFIX)


def ort_session(path: str | Path, threads: int | None = None):
    """An ONNX Runtime CPU session with every graph optimization on (ORT_ENABLE_ALL: constant folding,
    conv + activation and other fusions, layout transforms)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = int(threads)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def load_runtime(fmt: str, path: str | Path, *, threads: int | None = None) -> Runner:
    """The file ``path`` of format ``fmt`` loaded in its runtime, as a function of an NCHW float tensor
    (any batch size) that returns the logits as a torch tensor. ``threads`` sets ONNX Runtime's intra-op
    threads; the torch runtimes use ``torch.set_num_threads``."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}; allowed: {', '.join(FORMATS)}")
    require_runtime(fmt)
    path = str(path)
    if fmt == "onnx":
        session = ort_session(path, threads)
        name = session.get_inputs()[0].name

        def run_onnx(x: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(session.run(None, {name: x.detach().contiguous().numpy()})[0])

        return run_onnx
    if fmt == "fused" and not hasattr(torch.ops.nas_fused, "conv_block"):  # loaded once per process
        torch.ops.load_library(str(fused_library_beside(path)))
    if fmt in ("torchscript", "fused"):
        module = torch.jit.load(path, map_location="cpu")
    elif fmt == "pt2":
        module = torch.export.load(path).module()
    else:
        from torch._inductor import aoti_load_package

        module = aoti_load_package(path)

    def run_torch(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return module(x)

    return run_torch
