"""Runtimes the analysis times ops and whole subnets in: name -> how a module becomes the callable it runs.

``eager`` (the module in eval mode) and ``torchscript`` (scripted and frozen: conv+BN folded, as the
``cpu`` target and ``nas export`` run it) are built in; ``register_runtime`` adds others (ONNX
Runtime, torch.compile, ...): ``prepare(module, example_input) -> callable(x) -> y`` on CPU tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from search_spaces.errors import InvalidInput

__all__ = ["Runtime", "RUNTIMES", "register_runtime", "get_runtime", "check_runtimes"]


@dataclass(frozen=True)
class Runtime:
    name: str
    prepare: Callable  # (nn.Module in eval mode, example input) -> callable
    doc: str = ""


RUNTIMES: dict[str, Runtime] = {}


def register_runtime(name: str, prepare: Callable, doc: str = "") -> Runtime:
    if name in RUNTIMES:
        raise InvalidInput(f"runtime {name!r} is already registered")
    RUNTIMES[name] = Runtime(name, prepare, doc)
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


def _eager(module, example):
    return module.eval()


def _torchscript(module, example):
    from ..opbench import prepare

    return prepare(module, "torchscript", example)


register_runtime("eager", _eager, "PyTorch eager, eval mode")
register_runtime("torchscript", _torchscript, "TorchScript, scripted and frozen (conv+BN folded)")
