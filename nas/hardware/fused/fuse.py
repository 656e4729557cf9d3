"""``fuse_blocks``: replace the blocks of a static subnet by one fused C++ kernel call each.

A static subnet (``supernet.extract(arch)``, ``supernets/static``) is plain modules. Each ``Block`` with a
depthwise conv goes to ``FusedInvertedResidual`` (OFA-MobileNetV3), each one of dense convs to
``FusedConvBlock`` (ResNet basic and bottleneck blocks). A block its kernel does not cover keeps its
original modules, and the report says which and why, so fusing never changes a result.

Given an example input, ``fuse_blocks`` also keeps a block's layers where they run faster than its kernel
on this machine (timed on the block's own input, interleaved rounds, medians): the dense-conv kernel
loses to oneDNN on wide compute-bound bottlenecks (``benchmarks/fused_blocks.py --family resnet``), and a
runtime should use a kernel only where it pays.
"""

from __future__ import annotations

import copy
import logging
import statistics
from dataclasses import dataclass, field

import torch
from torch import nn

from supernets.static.oplib import Block

from ..opbench import time_module
from . import _ext
from .conv_block import FusedConvBlock
from .inverted_residual import FusedInvertedResidual
from .pack import Unsupported

__all__ = ["FusionReport", "fuse_blocks", "fused_module"]

log = logging.getLogger(__name__)


@dataclass
class FusionReport:
    fused: list[str] = field(default_factory=list)
    fallback: dict[str, str] = field(default_factory=dict)  # block name -> why it was kept

    def __str__(self) -> str:
        lines = [f"fused {len(self.fused)} block(s), kept {len(self.fallback)}"]
        lines += [f"  kept {name}: {why}" for name, why in self.fallback.items()]
        return "\n".join(lines)


def fused_module(block: Block) -> nn.Module:
    """The fused module for ``block``: its inverted-residual kernel when its main path has a depthwise
    conv, else the dense conv-block kernel. Raises ``Unsupported`` (why) for a block neither covers."""
    depthwise = any(isinstance(m, nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels
                    for m in block.main.modules())
    return FusedInvertedResidual(block) if depthwise else FusedConvBlock(block)


def fuse_blocks(net: nn.Module, example: torch.Tensor | None = None, rounds: int = 3) -> nn.Module:
    """An eval-mode copy of ``net`` with every ``Block`` a kernel covers fused (see module doc); ``net``
    itself is untouched. With ``example`` (an input of ``net``), a block whose layers run faster than its
    kernel on that input, over ``rounds`` interleaved timing rounds, keeps its layers. The copy's
    ``fusion_report`` (a ``FusionReport``) lists the fused blocks and, for each block kept as it was,
    why. Without the compiled kernels nothing is fused and every block's reason is the one-line build
    error."""
    out = copy.deepcopy(net).eval()
    report = FusionReport()
    blocks = [(name, m) for name, m in out.named_modules() if isinstance(m, Block)]
    ext_error = _ext.error()
    inputs = _block_inputs(out, [m for _, m in blocks], example) if example is not None and ext_error is None else {}
    for name, block in blocks:
        if ext_error is not None:
            report.fallback[name] = f"fused kernels unavailable: {ext_error}"
            continue
        try:
            fused = fused_module(block)
        except Unsupported as exc:
            report.fallback[name] = str(exc)
            continue
        if id(block) in inputs:
            layers_ms, fused_ms = _faster(block, fused, inputs[id(block)], rounds)
            if layers_ms < fused_ms:
                report.fallback[name] = f"its layers run faster here ({layers_ms:.3g} ms vs {fused_ms:.3g} ms fused)"
                continue
        parent_name, _, child = name.rpartition(".")
        parent = out.get_submodule(parent_name) if parent_name else out
        setattr(parent, child, fused)
        report.fused.append(name)
    if report.fallback:
        log.info("fuse_blocks: %s", report)
    out.fusion_report = report
    return out


def _block_inputs(net: nn.Module, blocks: list[nn.Module], example: torch.Tensor) -> dict[int, torch.Tensor]:
    """Each block's input when ``net`` runs ``example`` (the first call, for a block run twice)."""
    seen: dict[int, torch.Tensor] = {}

    def grab(module, args):
        seen.setdefault(id(module), args[0].detach().clone())

    handles = [b.register_forward_pre_hook(grab) for b in blocks]
    try:
        with torch.inference_mode():
            net(example)
    finally:
        for h in handles:
            h.remove()
    return seen


def _faster(layers: nn.Module, fused: nn.Module, x: torch.Tensor, rounds: int) -> tuple[float, float]:
    """Median ms per call of the block's layers and of its kernel, timed in alternating rounds."""
    times: dict[str, list[float]] = {"layers": [], "fused": []}
    fns = {"layers": layers, "fused": fused}
    for r in range(rounds):
        for key in (("layers", "fused") if r % 2 == 0 else ("fused", "layers")):
            times[key] += time_module(fns[key], x, warmup=1, repeats=3)
    return statistics.median(times["layers"]), statistics.median(times["fused"])
