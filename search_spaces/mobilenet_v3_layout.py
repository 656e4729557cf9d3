"""The macro-architecture of once-for-all's MobileNetV3 family, as plain data (no torch).

One description serves everything that needs a subnet's structure: the torch supernet and the
static modules it extracts, once-for-all ``net.config`` files, latency op specs, and params/MACs
counting. Counting follows once-for-all's convention (conv and linear multiply-accumulates only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .ops import Op

__all__ = ["make_divisible", "ConvSpec", "MBConvSpec", "LinearSpec", "MobileNetV3Layout", "MobileNetV3Macro",
           "conv_op", "mbconv_op"]


def make_divisible(v: float, divisor: int = 8, min_val: int | None = None) -> int:
    """Round ``v`` to a multiple of ``divisor`` (TF-slim rule used by MobileNets and once-for-all)."""
    min_val = divisor if min_val is None else min_val
    new_v = max(min_val, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # never round down by more than 10%
        new_v += divisor
    return new_v


def conv_out(size: int, stride: int) -> int:
    """Output size of a 'same'-padded odd-kernel conv."""
    return (size - 1) // stride + 1


@dataclass(frozen=True)
class ConvSpec:
    in_channels: int
    out_channels: int
    kernel_size: int
    stride: int
    act: str
    use_bn: bool
    input_size: int  # spatial H (= W) of the input

    @property
    def output_size(self) -> int:
        return conv_out(self.input_size, self.stride)

    @property
    def macs(self) -> int:
        return self.in_channels * self.out_channels * self.kernel_size**2 * self.output_size**2

    @property
    def params(self) -> int:
        bn = 2 * self.out_channels if self.use_bn else 0
        return self.in_channels * self.out_channels * self.kernel_size**2 + bn


@dataclass(frozen=True)
class MBConvSpec:
    """An inverted-residual block: [1x1 expand] -> kxk depthwise -> [SE] -> 1x1 project [+ x]."""

    in_channels: int
    out_channels: int
    mid_channels: int
    kernel_size: int
    stride: int
    expand_ratio: int
    act: str
    use_se: bool
    residual: bool
    input_size: int

    @property
    def output_size(self) -> int:
        return conv_out(self.input_size, self.stride)

    @property
    def has_expand(self) -> bool:
        return self.expand_ratio != 1

    @property
    def se_channels(self) -> int:
        return make_divisible(self.mid_channels // 4, 8)

    @property
    def macs(self) -> int:
        m, o = self.mid_channels, self.output_size**2
        total = self.kernel_size**2 * m * o + m * self.out_channels * o
        if self.has_expand:
            total += self.in_channels * m * self.input_size**2
        if self.use_se:
            total += 2 * m * self.se_channels
        return total

    @property
    def params(self) -> int:
        m = self.mid_channels
        total = self.kernel_size**2 * m + 2 * m + m * self.out_channels + 2 * self.out_channels
        if self.has_expand:
            total += self.in_channels * m + 2 * m
        if self.use_se:
            total += 2 * m * self.se_channels + self.se_channels + m
        return total


@dataclass(frozen=True)
class LinearSpec:
    in_features: int
    out_features: int
    dropout: float

    @property
    def macs(self) -> int:
        return self.in_features * self.out_features

    @property
    def params(self) -> int:
        return self.in_features * self.out_features + self.out_features


@dataclass(frozen=True)
class MobileNetV3Layout:
    """The full layer list of one subnet at one input resolution."""

    resolution: int
    stem: ConvSpec
    blocks: tuple[MBConvSpec, ...]  # first (fixed) block included
    final_expand: ConvSpec
    feature_mix: ConvSpec  # 1x1 conv after global pooling, no BN
    classifier: LinearSpec
    bn_momentum: float = 0.1
    bn_eps: float = 1e-5

    @property
    def layers(self) -> tuple:
        return (self.stem, *self.blocks, self.final_expand, self.feature_mix, self.classifier)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)


@dataclass(frozen=True)
class MobileNetV3Macro:
    """Fixed parts of once-for-all's ``OFAMobileNetV3``: widths, strides, activations, SE placement."""

    width_mult: float = 1.0
    base_widths: tuple[int, ...] = (16, 16, 24, 40, 80, 112, 160, 960, 1280)
    stage_strides: tuple[int, ...] = (2, 2, 2, 1, 2)
    stage_acts: tuple[str, ...] = ("relu", "relu", "h_swish", "h_swish", "h_swish")
    stage_se: tuple[bool, ...] = (False, True, False, True, True)
    stem_stride: int = 2
    max_depth: int = 4
    n_classes: int = 1000
    dropout: float = 0.1
    widths: tuple[int, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "widths", tuple(make_divisible(w * self.width_mult, 8) for w in self.base_widths))

    @property
    def n_stages(self) -> int:
        return len(self.stage_strides)

    @property
    def n_blocks(self) -> int:
        return self.n_stages * self.max_depth

    @property
    def stem_width(self) -> int:
        return self.widths[0]

    @property
    def stage_widths(self) -> tuple[int, ...]:
        return self.widths[2 : 2 + self.n_stages]

    def stage_input_sizes(self, resolution: int) -> list[int]:
        """Spatial input size of each elastic stage at a given input resolution."""
        size = conv_out(resolution, self.stem_stride)  # stem; the first block keeps stride 1
        sizes = []
        for stride in self.stage_strides:
            sizes.append(size)
            size = conv_out(size, stride)
        return sizes + [size]

    def block_spec(self, position: int, kernel_size: int, expand_ratio: int, resolution: int) -> MBConvSpec:
        """The elastic block at ``position`` (0..n_blocks-1) with the given kernel and expand ratio."""
        stage, index = divmod(position, self.max_depth)
        width = self.stage_widths[stage]
        in_channels = (self.widths[1] if stage == 0 else self.stage_widths[stage - 1]) if index == 0 else width
        stride = self.stage_strides[stage] if index == 0 else 1
        sizes = self.stage_input_sizes(resolution)
        input_size = sizes[stage] if index == 0 else conv_out(sizes[stage], self.stage_strides[stage])
        return MBConvSpec(
            in_channels=in_channels,
            out_channels=width,
            mid_channels=make_divisible(round(in_channels * expand_ratio), 8),
            kernel_size=kernel_size,
            stride=stride,
            expand_ratio=expand_ratio,
            act=self.stage_acts[stage],
            use_se=self.stage_se[stage],
            residual=stride == 1 and in_channels == width,
            input_size=input_size,
        )

    def fixed_specs(self, resolution: int) -> tuple[ConvSpec, MBConvSpec, ConvSpec, ConvSpec, LinearSpec]:
        """Stem, first block and head: the layers every subnet shares."""
        w = self.widths
        stem = ConvSpec(3, w[0], 3, self.stem_stride, "h_swish", True, resolution)
        size = stem.output_size
        first = MBConvSpec(w[0], w[1], w[0], 3, 1, 1, "relu", False, w[0] == w[1], size)
        last_size = self.stage_input_sizes(resolution)[-1]
        final_expand = ConvSpec(self.stage_widths[-1], w[-2], 1, 1, "h_swish", True, last_size)
        feature_mix = ConvSpec(w[-2], w[-1], 1, 1, "h_swish", False, 1)
        classifier = LinearSpec(w[-1], self.n_classes, self.dropout)
        return stem, first, final_expand, feature_mix, classifier

    def fixed_op(self, index: int, resolution: int) -> Op:
        """The ops every subnet runs: 0 stem, 1 first block, 2 final expand, 3 pool, 4 feature mix, 5 classifier."""
        stem, first, final_expand, feature_mix, classifier = self.fixed_specs(resolution)
        s, c = final_expand.output_size, final_expand.out_channels
        return (conv_op(stem), mbconv_op(first), conv_op(final_expand),
                Op("pool", (s, s, c), (1, 1, c), fused="mean"), conv_op(feature_mix),
                Op("linear", (1, 1, classifier.in_features), (1, 1, classifier.out_features),
                   fused="linear+bias"))[index]

    def layout(self, ks: list[int], e: list[int], d: list[int], resolution: int) -> MobileNetV3Layout:
        stem, first, final_expand, feature_mix, classifier = self.fixed_specs(resolution)
        blocks = [first]
        for stage, depth in enumerate(d):
            for index in range(depth):
                pos = stage * self.max_depth + index
                blocks.append(self.block_spec(pos, ks[pos], e[pos], resolution))
        return MobileNetV3Layout(resolution, stem, tuple(blocks), final_expand, feature_mix, classifier)


def _hw(size: int) -> tuple[int, int]:
    return size, size


def conv_op(spec: ConvSpec, name: str = "") -> Op:
    """conv -> [BN] -> [activation] as one op."""
    fused = "conv" + ("+bn" if spec.use_bn else "") + ("+act" if spec.act not in (None, "none") else "")
    return Op("conv", (*_hw(spec.input_size), spec.in_channels), (*_hw(spec.output_size), spec.out_channels),
              spec.kernel_size, spec.stride, act=spec.act or "none", bn=spec.use_bn, fused=fused, name=name)


def mbconv_op(b: MBConvSpec, name: str = "") -> Op:
    """An inverted-residual block as a composite op: [1x1 expand] -> kxk depthwise -> [SE] -> 1x1 project [+ x]."""
    se = b.se_channels if b.use_se else 0
    i, o = (*_hw(b.input_size), b.in_channels), (*_hw(b.output_size), b.out_channels)
    m_in, m_out = (*_hw(b.input_size), b.mid_channels), (*_hw(b.output_size), b.mid_channels)
    parts = []
    if b.has_expand:
        parts.append(Op("conv", i, m_in, 1, 1, act=b.act, bn=True, fused="conv+bn+act", name="expand"))
    parts.append(Op("dwconv", m_in, m_out, b.kernel_size, b.stride, act=b.act, bn=True, fused="conv+bn+act",
                    name="depthwise"))
    if se:
        parts.append(Op("se", m_out, m_out, mid=se, se=se, act="h_sigmoid", fused="se", name="se"))
    parts.append(Op("conv", m_out, o, 1, 1, bn=True, fused="conv+bn", name="project"))
    return Op("mbconv", i, o, b.kernel_size, b.stride, b.mid_channels, se, b.act, True, b.residual, "block",
              name=name, parts=tuple(parts))
