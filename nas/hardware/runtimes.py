"""The one registry of runtimes the engine times subnets and ops in: name -> how a module becomes the
callable a deployment runs (``prepare(module, example, threads) -> callable(x) -> y``, CPU tensors).

Built in:

* ``eager``: the module in eval mode.
* ``torchscript``: scripted and frozen (conv+BN folded by ``torch.jit.freeze``), as the ``cpu`` target
  and ``nas export`` run it.
* ``onnxruntime``: BN folded (``nas.export.fold``), exported to a temporary ONNX file with the exporter
  settings ``nas export --format onnx`` uses (dynamo exporter, dynamic batch), run in an ONNX Runtime
  session at ``ORT_ENABLE_ALL`` with ``threads`` intra-op threads. Needs the ``export`` extra.
* ``aoti``: BN folded, ``torch.export``ed (dynamic batch, as ``nas export --format aoti``) and compiled
  ahead of time by AOTInductor into a package in a temporary folder, loaded back. Needs a C++ compiler;
  tens of seconds per compile, so tables for it are fitted from whole subnets (``--subnets N``).
* ``fused``: BN folded, every block swapped for the engine's fused C++ kernel (inverted residuals and
  ResNet basic/bottleneck blocks: ``nas.hardware.fused.fuse_blocks``), except where the kernel does not
  cover the block or its layers ran faster on the example input, then TorchScript-frozen when the
  custom ops script (they do with torch 2.13), else run eagerly; ``runtime_detail`` says which. Needs
  the kernels built (a C++ compiler with AVX2/FMA).

``register_runtime`` adds others (``check`` raises a one-line ``InvalidInput`` when the runtime cannot
run here). Each missing runtime is refused in one line naming what to install (``require``).
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from search_spaces.errors import InvalidInput

__all__ = ["Runtime", "RUNTIMES", "BUILTIN", "PER_OP", "register_runtime", "get_runtime", "check_runtimes",
           "require", "prepare", "runtime_detail", "available"]


@dataclass(frozen=True)
class Runtime:
    name: str
    prepare: Callable  # (nn.Module in eval mode, example input[, threads]) -> callable
    doc: str = ""
    check: Callable[[], None] | None = None  # raises InvalidInput (one line) when it cannot run here
    takes_threads: bool = False


RUNTIMES: dict[str, Runtime] = {}
#: the engine's own runtimes, in the order the CLI lists them
BUILTIN = ("eager", "torchscript", "onnxruntime", "aoti", "fused")
#: runtimes whose tables are profiled op by op; the others compile too slowly per op and are fitted
#: from end-to-end timings of whole subnets
PER_OP = ("eager", "torchscript", "onnxruntime", "fused")


def register_runtime(name: str, prepare: Callable, doc: str = "", *, check: Callable[[], None] | None = None,
                     takes_threads: bool = False) -> Runtime:
    if name in RUNTIMES:
        raise InvalidInput(f"runtime {name!r} is already registered")
    if check is not None:  # whoever calls ``get_runtime(name).prepare`` directly is refused in one line too
        raw = prepare

        def prepare(*args, **kwargs):
            current = RUNTIMES.get(name)
            if current is not None and current.check is not None:
                current.check()
            return raw(*args, **kwargs)

    RUNTIMES[name] = Runtime(name, prepare, doc, check, takes_threads)
    return RUNTIMES[name]


def get_runtime(name: str) -> Runtime:
    if name not in RUNTIMES:
        raise InvalidInput(f"unknown runtime {name!r}; known: {', '.join(RUNTIMES)}")
    return RUNTIMES[name]


def check_runtimes(names) -> list[str]:
    """The runtimes asked for, each known, in order, without repeats (at least one)."""
    names = list(dict.fromkeys(names or ()))
    if not names:
        raise InvalidInput(f"give at least one --runtime; known: {', '.join(RUNTIMES)}")
    for name in names:
        get_runtime(name)
    return names


def require(name: str) -> Runtime:
    """The runtime ``name`` if it can run here, else a one-line ``InvalidInput`` naming what to install."""
    runtime = get_runtime(name)
    if runtime.check is not None:
        runtime.check()
    return runtime


def available(name: str) -> str | None:
    """None when ``name`` runs here, else the one-line reason it does not."""
    try:
        require(name)
    except InvalidInput as exc:
        return str(exc)
    return None


def prepare(name: str, module, example, threads: int | None = None) -> Callable:
    """``module`` (eval mode) prepared in runtime ``name``, refused in one line when it cannot run here."""
    runtime = require(name)
    module = module.eval()
    if runtime.takes_threads:
        return runtime.prepare(module, example, threads)
    return runtime.prepare(module, example)


# ----------------------------------------------------------------------------- checks
def _check_onnxruntime() -> None:
    from nas.export.runtimes import require_runtime

    require_runtime("onnx", "runtime onnxruntime")


def _check_compiler(what: str) -> None:
    from nas.export.runtimes import require_compiler

    require_compiler(f"runtime {what}")


def _check_aoti() -> None:
    _check_compiler("aoti")


def _check_fused() -> None:
    from .fused import _ext

    reason = _ext.error()
    if reason is not None:
        raise InvalidInput(f"runtime fused needs the engine's fused C++ kernels, which did not build here ({reason}); "
                           f"install g++ (or set CXX) on an x86-64 CPU with AVX2/FMA")


# ----------------------------------------------------------------------------- runtimes
def _eager(module, example):
    return module.eval()


def _torchscript(module, example):
    from .opbench import prepare as opbench_prepare

    return opbench_prepare(module, "torchscript", example)


def _freeze(module):
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.freeze(torch.jit.script(module.eval()))


class _Held:
    """A callable that keeps what it runs from (a temporary folder) alive as long as it is."""

    def __init__(self, fn: Callable, keep):
        self.fn, self.keep = fn, keep

    def __call__(self, x):
        return self.fn(x)


def _onnxruntime(module, example, threads=None):
    import torch

    from nas.export.fold import fold_batchnorm
    from nas.export.runtimes import ort_session
    from nas.export.subnet import _write_onnx  # the exporter settings of `nas export --format onnx`

    folded, _ = fold_batchnorm(module)
    folder = tempfile.TemporaryDirectory(prefix="nas-ort-")
    path = Path(folder.name) / "model.onnx"
    try:
        _write_onnx(folded, None, example, path)
        session = ort_session(path, threads)
    except Exception as exc:  # an op the exporter cannot express: one line, not a page of exporter trace
        folder.cleanup()
        line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InvalidInput(f"runtime onnxruntime: exporting {type(module).__name__} to ONNX failed: {line}") from None
    name = session.get_inputs()[0].name

    def run(x):
        return torch.from_numpy(session.run(None, {name: x.detach().contiguous().numpy()})[0])

    return _Held(run, (folder, session))


def _aoti(module, example, threads=None):
    import torch
    from torch._inductor import aoti_compile_and_package, aoti_load_package

    from nas.export.fold import fold_batchnorm
    from nas.export.subnet import _batch_dim, _quiet

    folded, _ = fold_batchnorm(module)
    folder = tempfile.TemporaryDirectory(prefix="nas-aoti-")
    path = Path(folder.name) / "model.aoti.pt2"
    dynamic = ({0: _batch_dim()},) if example.shape[0] > 1 else None  # export specializes a batch of 1
    with torch.no_grad(), _quiet():
        program = torch.export.export(folded, (example,), dynamic_shapes=dynamic)
        aoti_compile_and_package(program, package_path=str(path))
    loaded = aoti_load_package(str(path))

    def run(x):
        with torch.no_grad():
            return loaded(x)

    return _Held(run, (folder, loaded))


_FUSED_SCRIPTS: list[bool] = []


def _fused(module, example):
    from torch import nn

    from nas.export.fold import fold_batchnorm
    from supernets.static.oplib import Block

    from .fused import fuse_blocks

    folded, _ = fold_batchnorm(module)
    if isinstance(folded, Block):  # one op profiled alone: fuse_blocks swaps blocks *inside* a module
        folded = nn.Sequential(folded)
    fused = fuse_blocks(folded, example)  # a block keeps its layers where they are faster here
    report = fused.fusion_report
    try:
        del fused.fusion_report  # a plain attribute TorchScript would try to compile
        out = _freeze(fused)
        scripted = True
    except Exception:  # noqa: BLE001 -- a module TorchScript cannot compile runs eagerly, as documented
        out, scripted = fused, False
    if not _FUSED_SCRIPTS:
        _FUSED_SCRIPTS.append(scripted)
    try:
        out.fusion_report = report
    except (AttributeError, RuntimeError):  # a ScriptModule takes no new attributes
        pass
    return out


def runtime_detail(name: str) -> str:
    """What ``name`` runs, in words (recorded in the tables it makes)."""
    if name == "fused":
        if not _FUSED_SCRIPTS:  # decide once, on a one-block net
            _probe_fused()
        how = "TorchScript-frozen" if _FUSED_SCRIPTS and _FUSED_SCRIPTS[0] else "eager (the custom op did not script)"
        return (f"BN folded, inverted-residual and ResNet blocks as nas_fused kernels where they beat the "
                f"block's layers on this machine, then {how}")
    return get_runtime(name).doc


def _probe_fused() -> None:
    import torch

    from search_spaces import get_space
    from supernets.static.oplib import build_op

    try:
        ops = get_space("ofa-mbv3[ks=3,e=3,d=2,r=128]").structure("block").unique_ops().values()
        spec = next(op.as_spec() for op in ops if op.kind == "mbconv")
        module, (c, h, w) = build_op(spec, 1)
        _fused(module.eval(), torch.randn(1, c, h, w))
    except Exception:  # noqa: BLE001
        _FUSED_SCRIPTS.append(False)


register_runtime("eager", _eager, "PyTorch eager, eval mode")
register_runtime("torchscript", _torchscript, "TorchScript, scripted and frozen (conv+BN folded)")
register_runtime("onnxruntime", _onnxruntime, "ONNX Runtime (BN folded, dynamo ONNX export, ORT_ENABLE_ALL)",
                 check=_check_onnxruntime, takes_threads=True)
register_runtime("aoti", _aoti, "AOTInductor package (BN folded, torch.export, compiled C++)", check=_check_aoti,
                 takes_threads=True)
register_runtime("fused", _fused, "the engine's fused block kernels (BN folded, TorchScript-frozen)",
                 check=_check_fused)
