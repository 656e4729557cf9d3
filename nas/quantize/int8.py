"""Real int8 execution on x86 CPUs: the fake-quant subnet's int8 layers on PyTorch's int8 kernels.

``to_int8(fake)`` turns each int8 layer of a ``quantize_subnet`` model (8-bit weights and 8-bit inputs) into
quantize (the input's calibrated scale) -> ``torch.ao.nn.quantized`` conv / linear (fbgemm's x86 kernels;
a ReLU right after the conv runs fused in the kernel; per-channel weights with the fake-quant model's very
integer levels, scales and zero points; its output at the calibrated output scale) -> dequantize. Every
other layer stays as the simulation has it (fp32, or fake-quant where its width has no kernel: 4-bit
weights, or 8-bit weights on fp32 inputs), so the int8 model computes what the fake-quant model does up to
rounding at the int8 outputs.

Engine: ``fbgemm``. ``onednn`` refuses asymmetric (non-zero zero point) weights and on this CPU (AVX2,
no VNNI) its u8 x s8 products come out up to 0.8 of an output step off; fbgemm's are within half a step.
``x86`` picks between the two per layer. The file ``export_int8`` writes is TorchScript (``torch.jit.load``
needs only torch); the loader should ``torch.backends.quantized.engine = "fbgemm"`` first (the packed
weights are re-packed for the engine active at load).

Why eager ``torch.ao`` modules rather than PT2E (``torchao``'s X86InductorQuantizer): see the benchmark in
``tests/nas/quantize/test_int8.py``'s module doc and the int8 report; in short the PT2E graph is only fast
after Inductor compiles it (minutes here), its saved ``.pt2`` runs the quantize/dequantize ops as reference
fp32 code, and its quantizer has no asymmetric weights or per-layer output ranges of our own.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from search_spaces.errors import InvalidInput

from .policy import QuantPolicy
from .ptq import FakeQuantLeaf, calibration_batches_of, quant_leaves, quantize_subnet

__all__ = ["ENGINE", "Int8Leaf", "to_int8", "export_int8", "Int8Export", "compare_outputs"]

ENGINE = "fbgemm"


def _ao():
    with warnings.catch_warnings():  # torch.ao.quantization is deprecated in 2.13 (still the x86 int8 kernels)
        warnings.simplefilter("ignore")
        import torch.ao.nn.intrinsic.quantized as nniq
        import torch.ao.nn.quantized as nnq
    return nnq, nniq


def use_engine() -> None:
    if ENGINE not in torch.backends.quantized.supported_engines:
        raise InvalidInput(f"this torch has no {ENGINE} int8 engine (it has "
                           f"{', '.join(torch.backends.quantized.supported_engines)})")
    torch.backends.quantized.engine = ENGINE


def _per_channel_weight(leaf: FakeQuantLeaf) -> torch.Tensor:
    """The leaf's integer weights as a per-channel qint8 tensor (its very levels, scales, zero points)."""
    with warnings.catch_warnings():  # quantized tensors are deprecated in 2.13 (the int8 kernels take them)
        warnings.simplefilter("ignore")
        return torch._make_per_channel_quantized_tensor(leaf.w_int.to(torch.int8), leaf.w_scale.double(),
                                                        leaf.w_zp.long(), 0)


class Int8Leaf(nn.Module):
    """quantize -> int8 conv / linear (+ fused ReLU) -> dequantize, from a calibrated ``FakeQuantLeaf``."""

    def __init__(self, leaf: FakeQuantLeaf):
        super().__init__()
        if not leaf.int8 or leaf.calibrating:
            raise ValueError("only a calibrated int8 FakeQuantLeaf runs on int8 kernels")
        nnq, nniq = _ao()
        op = leaf.op
        weight = _per_channel_weight(leaf)
        bias = None if op.bias is None else op.bias.detach().float()
        if isinstance(op, nn.Linear):
            cls = nniq.LinearReLU if leaf.relu else nnq.Linear
            q = cls(op.in_features, op.out_features, bias_=bias is not None)
        else:
            cls = nniq.ConvReLU2d if leaf.relu else nnq.Conv2d
            q = cls(op.in_channels, op.out_channels, op.kernel_size, op.stride, op.padding, op.dilation,
                    op.groups, bias is not None, op.padding_mode)
        q.set_weight_bias(weight, bias)
        q.scale, q.zero_point = float(leaf.out_scale), int(leaf.out_zp)
        self.q = q
        self.in_scale, self.in_zp = float(leaf.in_scale), int(leaf.in_zp)
        self.layer_name = leaf.layer_name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.q(torch.quantize_per_tensor(x, self.in_scale, self.in_zp, torch.quint8)).dequantize()


@torch.no_grad()
def to_int8(fake: nn.Module) -> nn.Module:
    """A copy of the fake-quant model ``fake`` (``quantize_subnet``) with its int8 layers on int8 kernels."""
    if not quant_leaves(fake) and getattr(fake, "quant_policy", None) is None:
        raise InvalidInput("to_int8 needs a model from nas.quantize.quantize_subnet")
    use_engine()
    model = copy.deepcopy(fake).eval()
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, FakeQuantLeaf) and child.int8:
                setattr(parent, name, Int8Leaf(child))
    return model


@dataclass(frozen=True)
class Int8Export:
    path: Path
    int8_layers: int  # layers on int8 kernels
    simulated_layers: int  # quantized layers without a kernel here (fake-quant in the file)
    fp32_layers: int
    max_abs_diff: float  # int8 file vs the fake-quant model, on the check batch
    top1_agreement: float  # fraction of the check batch with the same top-1
    bytes: int


def compare_outputs(a: nn.Module, b: nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """Max |a(x) - b(x)| and the fraction of ``x`` on which their top-1 agree."""
    with torch.no_grad():
        ya, yb = a(x), b(x)
    return float((ya - yb).abs().max()), float((ya.argmax(1) == yb.argmax(1)).float().mean())


def _describe(policy: QuantPolicy) -> str:
    """What the file records beside the model (``torch.jit.load(path, _extra_files={"quantization.json": ""})``)."""
    return json.dumps({"format": "nas-int8/1", "engine": ENGINE, "space": policy.space,
                       "load": f"torch.backends.quantized.engine = {ENGINE!r} before torch.jit.load",
                       "layers": [{"name": layer.name, "wbits": layer.wbits, "abits": layer.abits,
                                   "wmode": layer.wmode if layer.wbits < 32 else "",
                                   "runs": "int8" if layer.int8 else "fake-quant" if layer.quantized else "fp32"}
                                  for layer in policy.layers]})


@torch.no_grad()
def export_int8(static_net: nn.Module, policy: QuantPolicy, calibration, out_path: str | Path,
                observer: str = "minmax", check_images: int = 64) -> Int8Export:
    """PTQ ``static_net`` with ``policy`` (``quantize_subnet``), put its int8 layers on int8 kernels, and write it
    as TorchScript to ``out_path`` (atomically, with the policy as the extra file ``quantization.json``); checks
    the written file's outputs against the fake-quant model on up to ``check_images`` calibration images."""
    batches = calibration_batches_of(calibration, getattr(static_net, "input_shape", None))
    fake = quantize_subnet(static_net, policy, batches, observer)
    model = to_int8(fake)
    example = torch.cat(batches)[:check_images]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.freeze(torch.jit.script(model.eval()))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.jit.save(scripted, tmp, _extra_files={"quantization.json": _describe(policy)})
            loaded = torch.jit.load(tmp)
        diff, agree = compare_outputs(loaded, fake, example)
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    n_int8 = sum(1 for layer in policy.layers if layer.int8)
    n_sim = sum(1 for layer in policy.layers if layer.quantized and not layer.int8)
    return Int8Export(out_path, n_int8, n_sim, len(policy.layers) - n_int8 - n_sim, diff, agree,
                      out_path.stat().st_size)
