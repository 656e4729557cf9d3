"""Post-training quantization of an extracted subnet: a fake-quant simulation with each layer's bits.

``quantize_subnet(net, policy, calibration)`` folds BN into the convs (``nas.export.fold``), then wraps every
conv / linear of each quantized layer of the policy (an SE layer's two 1x1 convs both take its bits):

* weights (``wbits`` < 32) quantized per output channel, ``symmetric`` (zero point 0, levels
  ``-2**(b-1) .. 2**(b-1)-1``, scale ``max|w| / (2**(b-1)-1)``) or ``asymmetric`` (the channel's
  ``[min, max]`` onto the same levels, with a zero point); 4-bit weights are only ever simulated;
* the layer's input (``abits`` < 32) quantized per tensor (affine uint8), its range calibrated by an
  observer (``minmax``, ``histogram``, ``percentile``: ``nas.quantize.observers``) on the calibration images;
* an int8 layer (8-bit weights and 8-bit inputs, which runs on int8 kernels: ``nas.quantize.int8``) also
  quantizes its output per tensor, as the kernel does (after its ReLU when the ReLU follows the conv
  directly: the kernel fuses it), so that the simulation is what the int8 model computes. Its weights
  take 7-bit levels (-64 .. 63, stored as int8): x86 CPUs without VNNI multiply u8 x s8 pairs into a
  saturating int16 (``vpmaddubsw``), which 255 x 127 x 2 overflows and 255 x 64 x 2 does not, so the
  kernels compute the simulation exactly on every x86 CPU (PyTorch's x86 default halves the activation
  range instead; out-of-range activations would still saturate there).

Layers at 32/32 bits stay as they are (fp32); a policy without any quantized layer returns an unchanged
copy of the net (no BN folding either), so its outputs equal the fp32 net's exactly.
"""

from __future__ import annotations

import copy
from typing import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from search_spaces.errors import InvalidInput
from supernets.static.oplib import Classifier, ConvBNAct, SqueezeExcite

from ..export.fold import fold_batchnorm
from .observers import OBSERVERS, make_observer
from .policy import LayerBits, QuantPolicy

__all__ = ["quantize_subnet", "FakeQuantLeaf", "quantize_weight", "calibration_batches_of", "quant_leaves",
           "INT8_KERNEL_WEIGHT_BITS"]

INT8_KERNEL_WEIGHT_BITS = 7  # the levels of an int8-kernel layer's weights (the module doc: no saturation)


def quantize_weight(weight: torch.Tensor, bits: int, mode: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-output-channel ``(q, scale, zero_point)``: integer levels (int32), fp32 scales, int32 zero points,
    with ``weight ~ (q - zero_point) * scale`` per channel (axis 0)."""
    if mode not in ("symmetric", "asymmetric"):
        raise InvalidInput(f"unknown weight mode {mode!r}; allowed: symmetric, asymmetric")
    w = weight.detach().float().reshape(weight.shape[0], -1)
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if mode == "symmetric":
        scale = (w.abs().amax(1) / qmax).clamp(min=1e-12)
        zp = torch.zeros(len(w), dtype=torch.int32)
    else:
        lo, hi = w.amin(1).clamp(max=0), w.amax(1).clamp(min=0)
        scale = ((hi - lo) / (qmax - qmin)).clamp(min=1e-12)
        zp = (qmin - torch.round(lo / scale)).clamp(qmin, qmax).to(torch.int32)
    shape = (-1,) + (1,) * (weight.dim() - 1)
    q = (torch.round(weight.detach().float() / scale.view(shape)) + zp.view(shape)).clamp(qmin, qmax)
    return q.to(torch.int32), scale, zp


class FakeQuantLeaf(nn.Module):
    """A conv or linear with fake-quantized weights, input and (int8 layers) output; TorchScript-able once
    calibrated. ``relu`` is a ReLU fused after the op (before the output quantization)."""

    def __init__(self, op: nn.Module, layer: LayerBits, relu: bool, observer: str):
        super().__init__()
        self.layer_name, self.wbits, self.abits, self.wmode = layer.name, layer.wbits, layer.abits, layer.wmode
        self.is_linear = isinstance(op, nn.Linear)
        self.op = copy.deepcopy(op)
        self.relu = relu
        self.int8 = layer.int8
        self.calibrating = True
        self.in_scale, self.in_zp, self.out_scale, self.out_zp = 1.0, 0, 1.0, 0
        self.a_max = 2 ** layer.abits - 1 if layer.abits < 32 else 255
        if layer.wbits < 32:
            q, scale, zp = quantize_weight(op.weight, INT8_KERNEL_WEIGHT_BITS if self.int8 else layer.wbits,
                                           layer.wmode)
            shape = (-1,) + (1,) * (op.weight.dim() - 1)
            with torch.no_grad():
                self.op.weight.copy_((q - zp.view(shape)).float() * scale.view(shape))
            self.register_buffer("w_int", q.to(torch.int8) if layer.wbits <= 8 else q)
            self.register_buffer("w_scale", scale)
            self.register_buffer("w_zp", zp)
        self.in_observer = make_observer(observer, layer.abits) if layer.abits < 32 else nn.Identity()
        self.out_observer = make_observer(observer, 8) if self.int8 else nn.Identity()

    @torch.jit.unused
    def finish(self) -> None:
        """Fix the activation ranges the observers saw and drop the observers."""
        if self.abits < 32:
            self.in_scale, self.in_zp = self.in_observer.qparams()
        if self.int8:
            self.out_scale, self.out_zp = self.out_observer.qparams()
        self.in_observer, self.out_observer = nn.Identity(), nn.Identity()
        self.calibrating = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.abits < 32:
            if self.calibrating:
                self.in_observer(x)
            else:
                x = torch.fake_quantize_per_tensor_affine(x, self.in_scale, self.in_zp, 0, self.a_max)
        y = self.op(x)
        if self.relu:
            y = F.relu(y)
        if self.int8:
            if self.calibrating:
                self.out_observer(y)
            else:
                y = torch.fake_quantize_per_tensor_affine(y, self.out_scale, self.out_zp, 0, 255)
        return y

    def extra_repr(self) -> str:
        return f"{self.layer_name}: w{self.wbits} {self.wmode if self.wbits < 32 else ''} a{self.abits}" + \
            (" relu" if self.relu else "") + (" int8" if self.int8 else "")


def quant_leaves(model: nn.Module) -> list[FakeQuantLeaf]:
    return [m for m in model.modules() if isinstance(m, FakeQuantLeaf)]


def _wrap(module: nn.Module, layer: LayerBits, observer: str) -> None:
    """Replace the conv / linear ops of one layer's module by ``FakeQuantLeaf``s (in place)."""
    if isinstance(module, ConvBNAct):
        relu = type(module.act) is nn.ReLU and not module.act_after_add and isinstance(module.bn, nn.Identity)
        module.conv = FakeQuantLeaf(module.conv, layer, relu, observer)
        if relu:
            module.act = nn.Identity()
    elif isinstance(module, SqueezeExcite):
        module.reduce = FakeQuantLeaf(module.reduce, layer, False, observer)
        module.expand = FakeQuantLeaf(module.expand, layer, False, observer)
    elif isinstance(module, Classifier):
        module.linear = FakeQuantLeaf(module.linear, layer, False, observer)
    else:  # check_against has refused it already
        raise InvalidInput(f"layer {layer.name} is a {type(module).__name__}, which has no quantizable op")


def calibration_batches_of(images, input_shape: Sequence[int] | None, batch_size: int = 100) -> list[torch.Tensor]:
    """Calibration images as float batches ``[n, C, H, W]``: a tensor (split into batches) or an iterable of
    tensors / ``(images, labels)`` pairs; ``InvalidInput`` for anything else or another image shape."""
    if isinstance(images, torch.Tensor):
        batches = [images[i:i + batch_size] for i in range(0, len(images), batch_size)]
    elif isinstance(images, Iterable):
        batches = [b[0] if isinstance(b, (tuple, list)) else b for b in images]
    else:
        raise InvalidInput(f"calibration images must be a tensor [N, C, H, W] or batches of them, "
                           f"not {type(images).__name__}")
    want = tuple(int(v) for v in input_shape) if input_shape is not None else None
    for b in batches:
        if not isinstance(b, torch.Tensor) or b.dim() != 4 or (want is not None and tuple(b.shape[1:]) != want):
            got = tuple(b.shape) if isinstance(b, torch.Tensor) else type(b).__name__
            need = f"[N, {', '.join(map(str, want))}]" if want else "[N, C, H, W]"
            raise InvalidInput(f"calibration images have shape {got}; the subnet takes {need} (normalized, "
                               f"at its input resolution)")
        if not b.is_floating_point():
            raise InvalidInput(f"calibration images are {b.dtype}; give normalized float images (as the subnet "
                               f"is evaluated on)")
    if not batches or sum(len(b) for b in batches) == 0:
        raise InvalidInput("quantization needs at least one calibration image")
    return batches


@torch.no_grad()
def quantize_subnet(static_net: nn.Module, policy: QuantPolicy, calibration_images,
                    observer: str = "minmax") -> nn.Module:
    """A fake-quant copy of ``static_net`` (in eval mode, BN recalibrated) with ``policy``'s bits per layer,
    its activation ranges calibrated on ``calibration_images`` (see the module doc); ``static_net`` is left
    as it was. The copy records ``quant_policy`` and ``observer``."""
    if not isinstance(policy, QuantPolicy):
        raise InvalidInput(f"policy must be a QuantPolicy (nas.quantize.policy_for(space, arch)), not "
                           f"{type(policy).__name__}")
    if observer not in OBSERVERS:
        raise InvalidInput(f"unknown observer {observer!r}; allowed: {', '.join(OBSERVERS)}")
    policy.check_against(static_net)
    batches = calibration_batches_of(calibration_images, getattr(static_net, "input_shape", None))
    if not any(layer.quantized for layer in policy.layers):
        model = copy.deepcopy(static_net).eval()
    else:
        model, _ = fold_batchnorm(static_net)
        modules = dict(model.named_modules())
        for layer in policy.layers:
            if layer.quantized:
                _wrap(modules[layer.path], layer, observer)
        device = next(static_net.parameters()).device
        for b in batches:
            model(b.to(device))
        for leaf in quant_leaves(model):
            leaf.finish()
    model.quant_policy, model.observer = policy, observer
    return model
