"""The op-builder registry: op kind -> the module that runs it. Needs only torch.

One place builds the modules of every op a space declares (``search_spaces.ops.Op.as_spec()``): the
static subnets that ``extract`` returns and ``nas export`` writes, and the ops the latency profiler
times (``nas/hardware/opbench.py``, which carries this file to devices that have nothing but torch).
A composite op (a block) is built from its parts: a main path, an optional shortcut, the residual add
and the activation after it. A primitive whose spec says ``precision: int8`` (an int8 layer of an ``S+q``
space) is built on oneDNN's int8 kernels. Everything is TorchScript- and ``torch.export``-compatible.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Mapping

import torch
from torch import nn

__all__ = ["BUILDERS", "INPUT_SHAPES", "register_builder", "input_shape", "build_op", "make_activation", "ConvBNAct",
           "SqueezeExcite", "GlobalPool", "Classifier", "Block", "Int8Conv", "Int8Linear", "Int8SqueezeExcite"]

ACTIVATIONS = ("none", "relu", "relu6", "h_swish", "h_sigmoid")


def make_activation(name: str | None) -> nn.Module:
    if name in (None, "none"):
        return nn.Identity()
    if name == "relu":
        return nn.ReLU()
    if name == "relu6":
        return nn.ReLU6()
    if name == "h_swish":
        return nn.Hardswish()
    if name == "h_sigmoid":
        return nn.Hardsigmoid()
    raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}")


class ConvBNAct(nn.Module):
    """conv -> [BN] -> activation, 'same' padding; with ``residual``, a tensor of the output shape is
    added: the module's own input when the shapes agree, else ``skip`` (the other branch of a block,
    as a fused layer sees it). ``act_after_add`` applies the activation after the add."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 1, stride: int = 1, groups: int = 1,
                 act: str | None = None, use_bn: bool = True, residual: bool = False, act_after_add: bool = False,
                 skip_shape: tuple[int, ...] | None = None):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size, stride, kernel_size // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_ch) if use_bn else nn.Identity()
        self.act = make_activation(act)
        self.residual = residual
        self.act_after_add = act_after_add
        self.external = skip_shape is not None
        self.register_buffer("skip", torch.randn(skip_shape) if skip_shape is not None else torch.zeros(0),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.conv(x))
        if not self.act_after_add:
            y = self.act(y)
        if self.residual:
            y = y + (self.skip if self.external else x)
        if self.act_after_add:
            y = self.act(y)
        return y


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation as in MobileNetV3: mean -> 1x1 (ReLU) -> 1x1 -> h-sigmoid gate."""

    def __init__(self, channels: int, se_channels: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, se_channels, 1, bias=True)
        self.expand = nn.Conv2d(se_channels, channels, 1, bias=True)
        self.relu = nn.ReLU()
        self.gate = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.expand(self.relu(self.reduce(y))))


class GlobalPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3), keepdim=True)


class Classifier(nn.Module):
    """Flatten, then a linear layer with bias."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.flatten(x, 1))


class Block(nn.Module):
    """A composite op: ``post_act(main(x) [+ shortcut(x)])``; an empty shortcut is the identity."""

    def __init__(self, main: nn.Sequential, shortcut: nn.Sequential, residual: bool, post_act: str):
        super().__init__()
        self.main, self.shortcut, self.residual = main, shortcut, residual
        self.post = make_activation(post_act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.main(x)
        if self.residual:
            y = y + self.shortcut(x)
        return self.post(y)


# ----------------------------------------------------------------------------- int8 kernels
#: fixed input quantization of the int8 ops the profiler times (uint8, zero point 128: inputs of either
#: sign, as a calibrated layer's); what a kernel costs does not depend on the scale
PROFILE_SCALE, PROFILE_ZERO_POINT = 0.05, 128


def _int8_weights(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-output-channel symmetric levels and scales, 7-bit in int8 as an exported int8 layer's (nas.quantize:
    u8 x s8 pairs then never saturate on CPUs without VNNI)."""
    scale = weight.detach().abs().flatten(1).amax(1).clamp_min(1e-8) / 63
    levels = torch.round(weight.detach() / scale.view(-1, *[1] * (weight.dim() - 1))).clamp(-64, 63)
    return levels.to(torch.int8), scale.float()


def _quantize_input(x: torch.Tensor, scale: float, zero_point: int) -> torch.Tensor:
    # the plain uint8 tensor oneDNN's kernels take (torch's quantized tensor types are deprecated in 2.13)
    return torch.round(x * (1.0 / scale)).add_(zero_point).clamp_(0, 255).to(torch.uint8)


class Int8Conv(nn.Module):
    """A conv (BN folded) on oneDNN's int8 kernel, as an int8 layer of an exported ``.pt2`` runs: its fp32
    input quantized to uint8, int8 per-channel weights, ReLU fused in the kernel, fp32 output; another
    activation, a residual add and an activation after it run in fp32 after the kernel."""

    def __init__(self, fp32: ConvBNAct, in_hw: tuple[int, int]):
        super().__init__()
        conv, bn = fp32.conv, fp32.bn
        weight, bias = conv.weight.detach(), torch.zeros(conv.out_channels)
        if isinstance(bn, nn.BatchNorm2d):
            g = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
            weight, bias = weight * g.view(-1, 1, 1, 1), bn.bias.detach() - bn.running_mean * g
        levels, w_scale = _int8_weights(weight)
        self.stride, self.padding = list(conv.stride), list(conv.padding)
        self.dilation, self.groups = list(conv.dilation), conv.groups
        self.x_scale, self.x_zp = PROFILE_SCALE, PROFILE_ZERO_POINT
        self.register_buffer("w_scale", w_scale)
        self.register_buffer("w_zp", torch.zeros(len(w_scale), dtype=torch.long))
        self.register_buffer("bias", bias.float())
        self.register_buffer("packed", torch.ops.onednn.qconv_prepack(
            levels, w_scale, self.x_scale, self.x_zp, self.stride, self.padding, self.dilation, self.groups,
            [1, conv.in_channels, in_hw[0], in_hw[1]]))
        relu = isinstance(fp32.act, nn.ReLU)
        self.attr = "relu" if relu and not fp32.act_after_add else "none"
        self.act = nn.Identity() if self.attr == "relu" else fp32.act
        self.residual, self.act_after_add, self.external = fp32.residual, fp32.act_after_add, fp32.external
        self.register_buffer("skip", fp32.skip.clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = _quantize_input(x, self.x_scale, self.x_zp)
        y = torch.ops.onednn.qconv_pointwise(q, self.x_scale, self.x_zp, self.packed, self.w_scale, self.w_zp,
                                             self.bias, self.stride, self.padding, self.dilation, self.groups, 1.0,
                                             0, torch.float32, self.attr, [], "")
        if not self.act_after_add:
            y = self.act(y)
        if self.residual:
            y = y + (self.skip if self.external else x)
        if self.act_after_add:
            y = self.act(y)
        return y


class Int8Linear(nn.Module):
    """Flatten, then a linear layer on oneDNN's int8 kernel (uint8 input, int8 weights, fp32 output)."""

    def __init__(self, fp32: nn.Linear):
        super().__init__()
        levels, w_scale = _int8_weights(fp32.weight)
        self.x_scale, self.x_zp = PROFILE_SCALE, PROFILE_ZERO_POINT
        self.register_buffer("w_scale", w_scale)
        self.register_buffer("w_zp", torch.zeros(len(w_scale), dtype=torch.long))
        self.register_buffer("bias", fp32.bias.detach().float())
        self.register_buffer("packed", torch.ops.onednn.qlinear_prepack(levels, None))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = _quantize_input(torch.flatten(x, 1), self.x_scale, self.x_zp)
        return torch.ops.onednn.qlinear_pointwise(q, self.x_scale, self.x_zp, self.packed, self.w_scale, self.w_zp,
                                                  self.bias, 1.0, 0, torch.float32, "none", [], "")


class Int8SqueezeExcite(nn.Module):
    """Squeeze-excite with its two 1x1 convs on int8 kernels; mean, gate and multiply in fp32."""

    def __init__(self, fp32: SqueezeExcite):
        super().__init__()
        self.reduce = Int8Conv(ConvBNAct(fp32.reduce.in_channels, fp32.reduce.out_channels, act="relu",
                                         use_bn=False), (1, 1))
        self.expand = Int8Conv(ConvBNAct(fp32.expand.in_channels, fp32.expand.out_channels, use_bn=False), (1, 1))
        self.gate = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.expand(self.reduce(x.mean((2, 3), keepdim=True))))


def _int8(spec: Mapping[str, Any], fp32: nn.Module) -> nn.Module:
    """The int8-kernel form of a quantizable primitive's fp32 module (``spec["precision"] == "int8"``)."""
    if isinstance(fp32, ConvBNAct):
        return Int8Conv(fp32, (int(spec["in_h"]), int(spec["in_w"])))
    if isinstance(fp32, Classifier):
        return Int8Linear(fp32.linear)
    if isinstance(fp32, SqueezeExcite):
        return Int8SqueezeExcite(fp32)
    raise ValueError(f"op kind {spec['kind']!r} has no int8 kernel (spec {spec.get('key')})")


# ----------------------------------------------------------------------------- registry
Builder = Callable[[Mapping[str, Any], int], nn.Module]
BUILDERS: dict[str, Builder] = {}
#: op kind -> the per-sample input shape its module takes, where it is not the (C, H, W) map of the spec
#: (token ops take [N, C] sequences)
INPUT_SHAPES: dict[str, Callable[[Mapping[str, Any]], tuple[int, ...]]] = {}


def register_builder(kind: str, input_shape: Callable[[Mapping[str, Any]], tuple[int, ...]] | None = None):
    def deco(fn: Builder) -> Builder:
        if kind in BUILDERS:
            raise ValueError(f"op kind {kind!r} already has a builder")
        BUILDERS[kind] = fn
        if input_shape is not None:
            INPUT_SHAPES[kind] = input_shape
        return fn

    return deco


def input_shape(spec: Mapping[str, Any]) -> tuple[int, ...]:
    """The per-sample shape of the input the op (a composite: its first part) takes: (C, H, W) by default."""
    parts = spec.get("parts")
    first = parts[0] if parts else spec
    shape_of = INPUT_SHAPES.get(str(first["kind"]))
    return tuple(shape_of(first)) if shape_of else (int(spec["in_c"]), int(spec["in_h"]), int(spec["in_w"]))


def _ints(spec: Mapping[str, Any], *names: str) -> list[int]:
    return [int(spec[n]) for n in names]


def _flag(spec: Mapping[str, Any], name: str) -> bool:
    return bool(int(spec[name]))


def _conv(spec: Mapping[str, Any], batch: int, depthwise: bool) -> nn.Module:
    cin, cout, k, s, oh, ow = _ints(spec, "in_c", "out_c", "kernel", "stride", "out_h", "out_w")
    residual = _flag(spec, "residual")
    same = (int(spec["in_h"]), int(spec["in_w"]), cin) == (oh, ow, cout) and s == 1
    return ConvBNAct(cin, cout, k, s, cin if depthwise else 1, str(spec["act"]), _flag(spec, "bn"), residual,
                     act_after_add=str(spec.get("fused", "")).endswith("+add+act"),
                     skip_shape=(batch, cout, oh, ow) if residual and not same else None)


@register_builder("conv")
def _build_conv(spec: Mapping[str, Any], batch: int) -> nn.Module:
    return _conv(spec, batch, depthwise=False)


@register_builder("dwconv")
def _build_dwconv(spec: Mapping[str, Any], batch: int) -> nn.Module:
    return _conv(spec, batch, depthwise=True)


@register_builder("se")
def _build_se(spec: Mapping[str, Any], batch: int) -> nn.Module:
    return SqueezeExcite(int(spec["in_c"]), int(spec["mid"]))


@register_builder("pool")
def _build_pool(spec: Mapping[str, Any], batch: int) -> nn.Module:
    return GlobalPool()


@register_builder("linear")
def _build_linear(spec: Mapping[str, Any], batch: int) -> nn.Module:
    return Classifier(int(spec["in_c"]), int(spec["out_c"]))


@register_builder("maxpool")
def _build_maxpool(spec: Mapping[str, Any], batch: int) -> nn.Module:
    k, s = _ints(spec, "kernel", "stride")
    return nn.MaxPool2d(k, s, (k - 1) // 2)  # 3x3/2 pads 1 (ResNet stems), 2x2/2 pads none


@register_builder("avgpool")
def _build_avgpool(spec: Mapping[str, Any], batch: int) -> nn.Module:
    k, s = _ints(spec, "kernel", "stride")
    return nn.AvgPool2d(k, s, 0, ceil_mode=True)


def _sequence(parts, batch: int) -> nn.Sequential:
    modules = OrderedDict()
    for i, part in enumerate(parts):
        name = str(part.get("name") or f"op{i}")
        if name in modules:
            raise ValueError(f"a block names two parts {name!r}")
        modules[name] = build_op(part, batch)[0]
    return nn.Sequential(modules)


def build_op(spec: Mapping[str, Any], batch: int = 1) -> tuple[nn.Module, tuple[int, ...]]:
    """The module one op spec describes, and its per-sample input shape ((C, H, W) for maps; see
    ``input_shape``). ``batch`` sizes the buffer that stands in for the other branch of a fused residual add."""
    shape = input_shape(spec)
    parts = spec.get("parts")
    if parts:
        block = Block(_sequence(parts, batch), _sequence(spec.get("shortcut") or [], batch),
                      _flag(spec, "residual"), str(spec.get("post_act", "none")))
        return block, shape
    kind = str(spec["kind"])
    if kind not in BUILDERS:
        raise ValueError(f"unknown op kind {kind!r} in spec {spec.get('key')}; known: {', '.join(sorted(BUILDERS))} "
                         f"(composite ops list their parts)")
    module = BUILDERS[kind](spec, batch)
    return (_int8(spec, module) if spec.get("precision") == "int8" else module), shape
