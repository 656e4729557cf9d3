"""Real int8 execution on x86 CPUs: the fake-quant subnet's int8 layers on PyTorch's int8 kernels.

``to_int8(fake)`` turns each int8 layer of a ``quantize_subnet`` model (8-bit weights and 8-bit inputs) into
quantize (the input's calibrated scale) -> ``torch.ao.nn.quantized`` conv / linear (fbgemm's x86 kernels;
a ReLU right after the conv runs fused in the kernel; per-channel weights with the fake-quant model's very
integer levels, scales and zero points; its output at the calibrated output scale) -> dequantize. Every
other layer stays as the simulation has it (fp32, or fake-quant where its width has no kernel: 4-bit
weights, or 8-bit weights on fp32 inputs), so the int8 model computes what the fake-quant model does up to
rounding at the int8 outputs.

Engine: ``fbgemm``. ``onednn`` refuses asymmetric (non-zero zero point) weights and on this CPU (AVX2,
no VNNI) its u8 x s8 products came out up to 0.8 of an output step off in eager mode; fbgemm's are within
half a step. ``x86`` picks between the two per layer. The loader of the TorchScript file should set
``torch.backends.quantized.engine = "fbgemm"`` first (packed weights are re-packed for the engine active at load).

Two files (``export_int8(fmt=...)``), measured by ``nas.quantize.bench`` on the all-int8 largest
ResNet20-pooling subnet, 1 thread, load 7-11 on 2 cores, routes interleaved, medians (ms, batch 1 / 32):

* fp32 baselines: TorchScript frozen 14.5 / 169; compiled by Inductor 13.8 / 107.
* ``torchscript``: these fbgemm modules, TorchScript: 7.7 / 109 (quantize and dequantize around every layer).
* ``pt2`` (the default: the faster): ``nas.quantize.pt2e``'s reference int8 graph (the fake-quant model's
  scales) compiled by AOTInductor: 6.8 / 27.6, int8 tensors kept between layers, ReLU and requantization
  fused into oneDNN's kernels. Its outputs vs the fake-quant model: max |diff| 0.025, top-1 agreement 1.0.
* For reference, ``torchao``'s ``X86InductorQuantizer`` on the same subnet (its own observers, symmetric
  weights only, no per-layer policy): AOTInductor 2.8 / 21.4 (it also quantizes the residual adds, which oneDNN
  fuses into the conv: our graph leaves them fp32); its graph saved with ``torch.export.save`` and loaded
  back, uncompiled, runs the quantize ops as reference code: 28.9 / 326, slower than fp32.
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


FORMATS = ("pt2", "torchscript")


@dataclass(frozen=True)
class Int8Export:
    path: Path
    format: str  # pt2 (AOTInductor package) or torchscript
    int8_layers: int  # layers on int8 kernels
    simulated_layers: int  # quantized layers without a kernel here (fake-quant, fp32, in the file)
    fp32_layers: int
    max_abs_diff: float  # the written file vs the fake-quant model, on the check batch
    top1_agreement: float  # fraction of the check batch with the same top-1
    bytes: int


def compare_outputs(a, b, x: torch.Tensor) -> tuple[float, float]:
    """Max |a(x) - b(x)| and the fraction of ``x`` on which their top-1 agree."""
    with torch.no_grad():
        ya, yb = a(x), b(x)
    return float((ya - yb).abs().max()), float((ya.argmax(1) == yb.argmax(1)).float().mean())


def _describe(policy: QuantPolicy, fmt: str, int8_layers: set[str], batch: int | None) -> str:
    """What the file records beside the model (TorchScript: ``torch.jit.load(path, _extra_files=...)``; .pt2:
    the package's ``quantization.json`` next to it)."""
    load = ("torch._inductor.aoti_load_package(path)" if fmt == "pt2" else
            f"torch.backends.quantized.engine = {ENGINE!r}; torch.jit.load(path)")
    return json.dumps({"format": "nas-int8/1", "file": fmt, "engine": "onednn (inductor)" if fmt == "pt2" else ENGINE,
                       "batch": batch, "space": policy.space, "load": load,
                       "layers": [{"name": layer.name, "wbits": layer.wbits, "abits": layer.abits,
                                   "wmode": layer.wmode if layer.wbits < 32 else "",
                                   "runs": "int8" if layer.name in int8_layers else
                                   "fake-quant" if layer.quantized else "fp32"}
                                  for layer in policy.layers]}, indent=1)


@torch.no_grad()
def export_int8(static_net: nn.Module, policy: QuantPolicy, calibration, out_path: str | Path,
                observer: str = "minmax", fmt: str = "pt2", batch_size: int = 1,
                check_images: int = 64) -> Int8Export:
    """PTQ ``static_net`` with ``policy`` (``quantize_subnet``), put its int8 layers on int8 kernels and write it
    to ``out_path`` (atomically), as ``fmt``:

    * ``pt2`` (default, the faster: see ``nas.quantize.bench``): the reference int8 graph compiled by
      AOTInductor (``nas.quantize.pt2e``) for inputs of ``batch_size`` images; load with
      ``torch._inductor.aoti_load_package``. Minutes to compile on a busy CPU.
    * ``torchscript``: fbgemm int8 modules, any batch; load with ``torch.jit.load``.

    The policy, and where each layer runs, is written beside it (``<out>.quantization.json``; TorchScript also
    holds it as the extra file ``quantization.json``). The written file's outputs are checked against the
    fake-quant model on up to ``check_images`` calibration images (``max_abs_diff``, ``top1_agreement``)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown int8 file format {fmt!r}; allowed: {', '.join(FORMATS)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInput(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    batches = calibration_batches_of(calibration, getattr(static_net, "input_shape", None))
    fake = quantize_subnet(static_net, policy, batches, observer)
    images = torch.cat(batches)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.",
                               suffix=".tmp.pt2" if fmt == "pt2" else ".tmp")  # AOTInductor wants .pt2
    os.close(fd)
    try:
        if fmt == "pt2":
            from .pt2e import compile_package, pt2e_capable, to_reference

            int8_names = {leaf.layer_name for leaf in quant_leaves(fake) if pt2e_capable(leaf)}
            reps = max(1, min(check_images, len(images)) // batch_size)
            example = images[:batch_size] if len(images) >= batch_size else \
                images[:1].expand(batch_size, *images.shape[1:]).contiguous()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compile_package(to_reference(fake), example, tmp)
                loaded = torch._inductor.aoti_load_package(tmp)
            checks = [images[i * batch_size:(i + 1) * batch_size] for i in range(reps)]
            checks = [c for c in checks if len(c) == batch_size] or [example]
            diffs = [compare_outputs(loaded, fake, c) for c in checks]
            diff, agree = max(d for d, _ in diffs), sum(a for _, a in diffs) / len(diffs)
            note = _describe(policy, fmt, int8_names, batch_size)
        else:
            model = to_int8(fake)
            int8_names = {m.layer_name for m in model.modules() if isinstance(m, Int8Leaf)}
            note = _describe(policy, fmt, int8_names, None)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scripted = torch.jit.freeze(torch.jit.script(model.eval()))
                torch.jit.save(scripted, tmp, _extra_files={"quantization.json": note})
                loaded = torch.jit.load(tmp)
            diff, agree = compare_outputs(loaded, fake, images[:check_images])
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    Path(f"{out_path}.quantization.json").write_text(note)
    n_int8 = len(int8_names)
    n_sim = sum(1 for layer in policy.layers if layer.quantized and layer.name not in int8_names)
    return Int8Export(out_path, fmt, n_int8, n_sim, len(policy.layers) - n_int8 - n_sim, diff, agree,
                      out_path.stat().st_size)
