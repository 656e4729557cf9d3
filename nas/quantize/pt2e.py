"""int8 through PT2E and AOTInductor: the fake-quant subnet as a reference quantized graph, compiled ahead of time.

``to_reference(fake)`` writes each int8 layer of a ``quantize_subnet`` model (8-bit symmetric weights, 8-bit
inputs) the way PT2E's ``convert_pt2e`` does: ``quantize -> dequantize`` of the input at its calibrated scale,
the conv / linear on the ``dequantize_per_channel`` of its int8 weights, the fused ReLU, ``quantize ->
dequantize`` of the output (``torch.ops.quantized_decomposed``). Inductor's x86 int8 passes (freezing on)
recognize these patterns and run oneDNN int8 convs / linears, keeping int8 tensors between layers and fusing
the quantize / dequantize steps; everything else is compiled as fp32. The scales are the fake-quant
model's own (not ``X86InductorQuantizer``'s observers), so the compiled model computes what the simulation
does. oneDNN takes symmetric weights only: an asymmetric int8 layer stays a fake-quant (fp32) layer here.

``compile_package(model, example, path)`` exports (``torch.export``, static shapes: the example's batch) and
compiles with AOTInductor into a ``.pt2`` package that ``torch._inductor.aoti_load_package`` loads with
torch alone.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .ptq import FakeQuantLeaf

__all__ = ["ReferenceInt8Leaf", "to_reference", "compile_package", "pt2e_capable"]


def _ops():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import torch.ao.quantization.fx._decomposed  # noqa: F401  registers torch.ops.quantized_decomposed
    return torch.ops.quantized_decomposed


def pt2e_capable(leaf: FakeQuantLeaf) -> bool:
    """Whether the leaf runs int8 on Inductor's oneDNN kernels (int8 with symmetric weights)."""
    return leaf.int8 and leaf.wmode == "symmetric" and not leaf.calibrating


class ReferenceInt8Leaf(nn.Module):
    """A calibrated int8 ``FakeQuantLeaf`` as PT2E's reference quantized pattern."""

    def __init__(self, leaf: FakeQuantLeaf):
        super().__init__()
        if not pt2e_capable(leaf):
            raise ValueError("only a calibrated int8 FakeQuantLeaf with symmetric weights has a reference int8 form")
        op = leaf.op
        self.is_linear = isinstance(op, nn.Linear)
        self.register_buffer("w_int", leaf.w_int.to(torch.int8))
        self.register_buffer("w_scale", leaf.w_scale.float())
        self.register_buffer("w_zp", leaf.w_zp.long())
        self.register_buffer("bias", op.bias.detach().float() if op.bias is not None else torch.zeros(0))
        self.has_bias = op.bias is not None
        if not self.is_linear:
            self.stride, self.padding, self.dilation, self.groups = op.stride, op.padding, op.dilation, op.groups
        self.relu = leaf.relu
        self.in_scale, self.in_zp = float(leaf.in_scale), int(leaf.in_zp)
        self.out_scale, self.out_zp = float(leaf.out_scale), int(leaf.out_zp)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qd = _ops()
        x = qd.dequantize_per_tensor(qd.quantize_per_tensor(x, self.in_scale, self.in_zp, 0, 255, torch.uint8),
                                     self.in_scale, self.in_zp, 0, 255, torch.uint8)
        w = qd.dequantize_per_channel(self.w_int, self.w_scale, self.w_zp, 0, -128, 127, torch.int8)
        bias = self.bias if self.has_bias else None
        if self.is_linear:
            y = F.linear(x, w, bias)
        else:
            y = F.conv2d(x, w, bias, self.stride, self.padding, self.dilation, self.groups)
        if self.relu:
            y = F.relu(y)
        return qd.dequantize_per_tensor(qd.quantize_per_tensor(y, self.out_scale, self.out_zp, 0, 255, torch.uint8),
                                        self.out_scale, self.out_zp, 0, 255, torch.uint8)


@torch.no_grad()
def to_reference(fake: nn.Module) -> nn.Module:
    """A copy of ``fake`` with its int8 (symmetric-weight) layers in PT2E's reference quantized form."""
    model = copy.deepcopy(fake).eval()
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, FakeQuantLeaf) and pt2e_capable(child):
                setattr(parent, name, ReferenceInt8Leaf(child))
    return model


@torch.no_grad()
def compile_package(model: nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """``model`` exported at ``example``'s shape and compiled by AOTInductor (freezing: int8 patterns lowered)
    into the ``.pt2`` package ``path``."""
    from torch._inductor import config

    _ops()
    program = torch.export.export(model.eval(), (example,))
    with config.patch(freezing=True):
        return Path(torch._inductor.aoti_compile_and_package(program, package_path=str(path)))
