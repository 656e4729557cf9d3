"""Canonical op specs: what one latency-table entry measures, and how a subnet splits into them.

A target runs some ops fused as one kernel. The *fusion* mode says how a layer list becomes the
kernels the target really runs, so that a subnet's latency sums those kernels, not every primitive:

``block``  a whole inverted-residual block is one entry (block-fusion kernels; TorchScript on CPUs,
           once-for-all's phone tables). Stem, final expand and feature mix are conv+BN+act entries.
``layer``  TensorRT-style: every conv runs with its BN and activation fused, the residual add is
           fused into the projecting conv (conv+BN+add), squeeze-excite is one entry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from search_spaces.errors import InvalidInput, NotSupported
from search_spaces.mobilenet_v3_layout import ConvSpec, LinearSpec, MBConvSpec

__all__ = ["FUSIONS", "OpSpec", "block_ops", "fixed_ops", "layout_ops", "check_fusion", "macro_of", "layout_spaces"]

FUSIONS = ("block", "layer")


@dataclass(frozen=True)
class OpSpec:
    """One kernel the target runs. Shapes are (H, W, C); ``se`` is the squeeze-excite width (0: none)."""

    kind: str  # conv | dwconv | mbconv | se | pool | linear
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    kernel: int = 1
    stride: int = 1
    mid: int = 0  # expanded width of a block; squeeze width of an ``se`` op
    se: int = 0
    act: str = "none"
    bn: bool = False
    residual: bool = False
    fused: str = ""  # which ops run as this one kernel, e.g. "conv+bn+act", "conv+bn+add", "block"

    @property
    def key(self) -> str:
        i, o = self.in_shape, self.out_shape
        return (f"{self.kind}-in:{i[0]}x{i[1]}x{i[2]}-out:{o[0]}x{o[1]}x{o[2]}-k:{self.kernel}-s:{self.stride}"
                f"-mid:{self.mid}-se:{self.se}-act:{self.act}-bn:{int(self.bn)}-res:{int(self.residual)}"
                f"-fused:{self.fused}")

    def as_row(self) -> dict:
        """The flat dict the profiler and table files use."""
        (ih, iw, ic), (oh, ow, oc) = self.in_shape, self.out_shape
        d = asdict(self)
        del d["in_shape"], d["out_shape"]
        return {"key": self.key, **d, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
                "bn": int(self.bn), "residual": int(self.residual)}

    @property
    def flops(self) -> float:
        """Multiply-accumulates of the kernel (elementwise work counted as one MAC per element)."""
        (ih, iw, ic), (oh, ow, oc) = self.in_shape, self.out_shape
        if self.kind == "conv":
            return ic * oc * self.kernel**2 * oh * ow
        if self.kind == "dwconv":
            return oc * self.kernel**2 * oh * ow
        if self.kind == "linear":
            return ic * oc
        if self.kind == "se":
            return 2 * ic * self.mid + 2 * ih * iw * ic
        return ih * iw * ic  # pool


def check_fusion(fusion: str) -> str:
    if fusion not in FUSIONS:
        raise InvalidInput(f"unknown fusion mode {fusion!r}; known: {', '.join(FUSIONS)}")
    return fusion


def _hw(size: int) -> tuple[int, int]:
    return size, size


def conv_op(spec: ConvSpec, residual: bool = False) -> OpSpec:
    fused = "conv" + ("+bn" if spec.use_bn else "") + ("+act" if spec.act not in (None, "none") else "")
    return OpSpec("conv", (*_hw(spec.input_size), spec.in_channels), (*_hw(spec.output_size), spec.out_channels),
                  spec.kernel_size, spec.stride, act=spec.act or "none", bn=spec.use_bn, residual=residual, fused=fused)


def block_ops(b: MBConvSpec, fusion: str) -> tuple[OpSpec, ...]:
    """The kernels one inverted-residual block runs under ``fusion``."""
    se = b.se_channels if b.use_se else 0
    i, o = (*_hw(b.input_size), b.in_channels), (*_hw(b.output_size), b.out_channels)
    if fusion == "block":
        return (OpSpec("mbconv", i, o, b.kernel_size, b.stride, b.mid_channels, se, b.act, True, b.residual, "block"),)
    m_in, m_out = (*_hw(b.input_size), b.mid_channels), (*_hw(b.output_size), b.mid_channels)
    ops = []
    if b.has_expand:
        ops.append(OpSpec("conv", i, m_in, 1, 1, act=b.act, bn=True, fused="conv+bn+act"))
    ops.append(OpSpec("dwconv", m_in, m_out, b.kernel_size, b.stride, act=b.act, bn=True, fused="conv+bn+act"))
    if se:
        ops.append(OpSpec("se", m_out, m_out, mid=se, se=se, act="h_sigmoid", fused="se"))
    ops.append(OpSpec("conv", m_out, o, 1, 1, bn=True, residual=b.residual,
                      fused="conv+bn+add" if b.residual else "conv+bn"))
    return tuple(ops)


def head_ops(final_expand: ConvSpec, feature_mix: ConvSpec, classifier: LinearSpec) -> tuple[OpSpec, ...]:
    s, c = final_expand.output_size, final_expand.out_channels
    pool = OpSpec("pool", (s, s, c), (1, 1, c), fused="mean")
    linear = OpSpec("linear", (1, 1, classifier.in_features), (1, 1, classifier.out_features), fused="linear+bias")
    return conv_op(final_expand), pool, conv_op(feature_mix), linear


def fixed_ops(macro, resolution: int, fusion: str) -> tuple[tuple[OpSpec, ...], tuple[OpSpec, ...]]:
    """(ops before the elastic blocks, ops after them) that every subnet at ``resolution`` runs."""
    stem, first, final_expand, feature_mix, classifier = macro.fixed_specs(resolution)
    return (conv_op(stem), *block_ops(first, fusion)), head_ops(final_expand, feature_mix, classifier)


def layout_ops(layout, fusion: str) -> list[OpSpec]:
    """All kernels of one subnet layout, in execution order."""
    ops = [conv_op(layout.stem)]
    for b in layout.blocks:
        ops.extend(block_ops(b, fusion))
    ops.extend(head_ops(layout.final_expand, layout.feature_mix, layout.classifier))
    return ops


def _has_layout(space) -> bool:
    return hasattr(getattr(space, "macro", None), "block_spec")


def layout_spaces() -> list[str]:
    """Registered spaces with a MobileNetV3 layout: those latency tables (profile, fit, import) support."""
    from search_spaces import get_space, list_spaces
    from search_spaces.errors import NasError

    out = []
    for name in list_spaces():
        try:
            if _has_layout(get_space(name)):
                out.append(name)
        except NasError:
            continue
    return out


def macro_of(space):
    """The MobileNetV3 macro-architecture of a space, or ``NotSupported`` naming the spaces that have one."""
    if not _has_layout(space):
        raise NotSupported(f"latency tables need a space with a MobileNetV3 layout ({', '.join(layout_spaces())}); "
                           f"{space.name} has none")
    return space.macro
