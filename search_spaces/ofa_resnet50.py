"""Once-for-all's ResNet50 space (``ofa_resnet50_d0-1-2_e0.2-0.25-0.35_w0.65-0.8-1.0``).

A three-conv stem (3x3 s2, a residual 3x3 block that depth can remove, 3x3), max pooling, then four
stages of bottleneck blocks (2+d, 2+d, 4+d, 2+d of them, d in {0, 1, 2}; ResNet-D shortcuts: 2x2
average pooling then a 1x1 conv where the shape changes) and a linear classifier. The arch uses
once-for-all's keys and values, which DyNAS-T's ``ofa_resnet50`` encoding also uses:

* ``d`` (5): ``d[0]`` keeps the stem's residual block when it is 2 (0 and 1 both skip it), ``d[1..4]``
  the extra blocks per stage;
* ``e`` (18): expand ratio of each bottleneck (inner width = out width x e, rounded to 8);
* ``w`` (6): width-multiplier *index* into (0.65, 0.8, 1.0), for the stem's first two convs, the stem's
  output, and each stage (``set_active_subnet(w=...)`` takes the same indices);
* ``r``: input resolution.

The genome is DyNAS-T's (5 d, 18 e, 6 w option indices), then the resolution index. Equivalent archs
share an id: blocks beyond a stage's depth, ``d[0]`` 0 vs 1, and ``w[0]`` 0 vs 1 (both 24 channels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ._registry import register_space
from ._space import Choice, SearchSpace
from .elastic import ShrinkingOrder, ShrinkStage
from .errors import InvalidArchitecture
from .mobilenet_v3_layout import make_divisible
from .ops import Op
from .structure import SlotSpec, Structured

__all__ = ["ResNetMacro", "OFAResNet50Space", "ofa_resnet50", "ofa_resnet50_cifar", "OFA_PREDICTOR_RESOLUTIONS"]

#: the resolutions once-for-all's released ResNet50 accuracy predictor encodes (its tutorial's list)
OFA_PREDICTOR_RESOLUTIONS = (128, 144, 160, 176, 192, 224, 240, 256)


def conv_out(size: int, stride: int) -> int:
    return (size - 1) // stride + 1


@dataclass(frozen=True)
class ResNetMacro:
    """The fixed parts of once-for-all's ``OFAResNets``; ``stem_stride`` 1 without max pooling is a CIFAR stem."""

    width_mults: tuple[float, ...] = (0.65, 0.8, 1.0)
    base_depths: tuple[int, ...] = (2, 2, 4, 2)
    max_extra_depth: int = 2
    stage_widths: tuple[int, ...] = (256, 512, 1024, 2048)
    stage_strides: tuple[int, ...] = (1, 2, 2, 2)
    stem_width: int = 64
    stem_stride: int = 2
    max_pool: bool = True
    n_classes: int = 1000
    expand_ratios: tuple[float, ...] = (0.2, 0.25, 0.35)

    @property
    def n_stages(self) -> int:
        return len(self.base_depths)

    @property
    def n_blocks(self) -> int:
        return sum(self.base_depths) + self.n_stages * self.max_extra_depth

    def stem_out(self, w: int) -> int:
        """Output width of the stem (once-for-all's ``input_channel``) at width index ``w``."""
        return make_divisible(self.stem_width * self.width_mults[w], 8)

    def stem_mid(self, w: int) -> int:
        """Width of the stem's first two convs (``mid_input_channel``)."""
        return make_divisible(self.stem_out(w) // 2, 8)

    def stage_width(self, stage: int, w: int) -> int:
        return make_divisible(self.stage_widths[stage] * self.width_mults[w], 8)

    def blocks_of(self, stage: int) -> range:
        start = sum(b + self.max_extra_depth for b in self.base_depths[:stage])
        return range(start, start + self.base_depths[stage] + self.max_extra_depth)

    def position(self, block: int) -> tuple[int, int]:
        """(stage, index within the stage) of block position ``block``."""
        for stage in range(self.n_stages):
            if block in self.blocks_of(stage):
                return stage, block - self.blocks_of(stage).start
        raise IndexError(block)

    def sizes(self, resolution: int) -> list[int]:
        """Spatial size entering each stage (and after the last)."""
        size = conv_out(resolution, self.stem_stride)
        if self.max_pool:
            size = conv_out(size, 2)
        out = []
        for stride in self.stage_strides:
            out.append(size)
            size = conv_out(size, stride)
        return out + [size]

    # ------------------------------------------------------------------ ops
    def stem_ops(self, w0: int, w1: int, r: int) -> tuple[Op, Op, Op]:
        mid, out, s = self.stem_mid(w0), self.stem_out(w1), conv_out(r, self.stem_stride)
        first = Op("conv", (r, r, 3), (s, s, mid), 3, self.stem_stride, act="relu", bn=True, fused="conv+bn+act",
                   name="stem")
        block = Op("conv", (s, s, mid), (s, s, mid), 3, 1, act="relu", bn=True, residual=True,
                   fused="conv+bn+act+add", name="stem_block")
        last = Op("conv", (s, s, mid), (s, s, out), 3, 1, act="relu", bn=True, fused="conv+bn+act", name="stem_out")
        return first, block, last

    def bottleneck(self, block: int, w_in: int, w_out: int, e: float, r: int) -> Op:
        stage, index = self.position(block)
        cin = (self.stem_out(w_in) if stage == 0 else self.stage_width(stage - 1, w_in)) if index == 0 else \
            self.stage_width(stage, w_out)
        cout = self.stage_width(stage, w_out)
        stride = self.stage_strides[stage] if index == 0 else 1
        size = self.sizes(r)[stage] if index == 0 else self.sizes(r)[stage + 1]
        out = conv_out(size, stride)
        mid = make_divisible(round(cout * e), 8)
        i, m_in, m_out, o = (size, size, cin), (size, size, mid), (out, out, mid), (out, out, cout)
        parts = (Op("conv", i, m_in, 1, 1, act="relu", bn=True, fused="conv+bn+act", name="conv1"),
                 Op("conv", m_in, m_out, 3, stride, act="relu", bn=True, fused="conv+bn+act", name="conv2"),
                 Op("conv", m_out, o, 1, 1, bn=True, fused="conv+bn", name="conv3"))
        shortcut: tuple[Op, ...] = ()
        if index == 0:  # once-for-all's "avgpool_conv" downsample wherever the widths or the size change
            at = (out, out, cin)
            pool = (Op("avgpool", i, at, stride, stride, fused="avgpool", name="avg_pool"),) if stride > 1 else ()
            shortcut = (*pool, Op("conv", at, o, 1, 1, bn=True, fused="conv+bn", name="conv"))
        return Op("bottleneck", i, o, 3, stride, mid, 0, "relu", True, True, "block", name="blocks", parts=parts,
                  shortcut=shortcut, post_act="relu")


class OFAResNet50Space(Structured, ShrinkingOrder, SearchSpace):
    """An OFA-ResNet50 space over a fixed macro-architecture (stage widths, strides, stem)."""

    resolution_key = "r"
    # once-for-all's ResNet50 schedule: depth, then expand ratio (channels sorted), then width
    shrink_order = (ShrinkStage("d", "depth", 2, 2), ShrinkStage("e", "expand", 2, 4, sort_channels=True),
                    ShrinkStage("w", "width", 2, 4))

    def __init__(self, name: str, macro: ResNetMacro, resolutions: Sequence[int], description: str = ""):
        self.macro = macro
        self.n_classes = macro.n_classes
        depths = tuple(range(macro.max_extra_depth + 1))
        choices = [
            Choice("d", depths, macro.n_stages + 1, "d[0]: the stem's residual block (kept at 2); d[1..]: extra "
                                                     "blocks per stage"),
            Choice("e", macro.expand_ratios, macro.n_blocks, "expand ratio per bottleneck block"),
            Choice("w", tuple(range(len(macro.width_mults))), macro.n_stages + 2,
                   f"width-multiplier index into {macro.width_mults}: stem convs, stem output, each stage"),
            Choice("r", tuple(resolutions), 1, "input resolution"),
        ]
        super().__init__(name, choices, description)

    # ---------------------------------------------------------------- structure
    def slot_specs(self) -> list[SlotSpec]:
        m, r = self.macro, ("r", 0)
        slots = [SlotSpec("stem", (("w", 0), r), lambda w0, res: (m.stem_ops(w0, 0, res)[0],)),
                 SlotSpec("stem_block", (("w", 0), r), lambda w0, res: (m.stem_ops(w0, 0, res)[1],)),
                 SlotSpec("stem_out", (("w", 0), ("w", 1), r), lambda w0, w1, res: (m.stem_ops(w0, w1, res)[2],))]
        if m.max_pool:
            slots.append(SlotSpec("max_pool", (("w", 1), r), lambda w1, res: (self._max_pool(w1, res),)))
        for block in range(m.n_blocks):
            stage, index = m.position(block)
            if index == 0:
                slots.append(SlotSpec(f"blocks.{block}", (("w", 1 + stage), ("w", 2 + stage), ("e", block), r),
                                      lambda wi, wo, e, res, b=block: (m.bottleneck(b, wi, wo, e, res),)))
            else:
                slots.append(SlotSpec(f"blocks.{block}", (("w", 2 + stage), ("e", block), r),
                                      lambda w, e, res, b=block: (m.bottleneck(b, w, w, e, res),)))
        slots.append(SlotSpec("pool", (("w", m.n_stages + 1), r), lambda w, res: (self._head(w, res)[0],)))
        slots.append(SlotSpec("classifier", (("w", m.n_stages + 1), r), lambda w, res: (self._head(w, res)[1],)))
        return slots

    def _max_pool(self, w1: int, r: int) -> Op:
        s, c = conv_out(r, self.macro.stem_stride), self.macro.stem_out(w1)
        return Op("maxpool", (s, s, c), (conv_out(s, 2), conv_out(s, 2), c), 3, 2, fused="maxpool", name="max_pool")

    def _head(self, w: int, r: int) -> tuple[Op, Op]:
        s, c = self.macro.sizes(r)[-1], self.macro.stage_width(self.macro.n_stages - 1, w)
        return (Op("pool", (s, s, c), (1, 1, c), fused="mean", name="pool"),
                Op("linear", (1, 1, c), (1, 1, self.n_classes), fused="linear+bias", name="classifier"))

    def slot_active(self, genomes: np.ndarray) -> np.ndarray:
        n_head = 3 + int(self.macro.max_pool)
        active = np.ones((len(genomes), n_head + self.macro.n_blocks + 2), dtype=bool)
        active[:, 1] = self.values(genomes, "d")[:, 0] == self.macro.max_extra_depth
        active[:, n_head:n_head + self.macro.n_blocks] = self.active_blocks(genomes)
        return active

    def active_blocks(self, genomes: np.ndarray) -> np.ndarray:
        """``[n, n_blocks]``: whether each bottleneck runs (it is within its stage's depth)."""
        d = self.values(genomes, "d").astype(np.int64)
        out = np.zeros((len(genomes), self.macro.n_blocks), dtype=bool)
        for stage in range(self.macro.n_stages):
            blocks = self.macro.blocks_of(stage)
            index = np.arange(len(blocks))[None, :]
            out[:, blocks.start:blocks.stop] = index < self.macro.base_depths[stage] + d[:, 1 + stage:2 + stage]
        return out

    def input_shape(self, arch: Mapping[str, Any]) -> tuple[int, int, int]:
        r = int(self.validate(arch)["r"])
        return 3, r, r

    # ------------------------------------------------------------- identity
    def active_mask(self, genomes: np.ndarray) -> np.ndarray:
        mask = np.ones(genomes.shape, dtype=bool)
        if "e" in self.gene_slices:
            mask[:, self.gene_slices["e"]] = self.active_blocks(genomes)
        return mask

    def canonical(self, genomes: np.ndarray) -> np.ndarray:
        """Inactive genes zeroed, and the equivalent options of ``d[0]`` and ``w[0]`` merged (to the first)."""
        out = super().canonical(genomes)
        for key, representative in (("d", self._stem_depth_classes()), ("w", self._stem_width_classes())):
            sl = self.gene_slices.get(key)
            if sl is not None:
                out[:, sl.start] = representative[out[:, sl.start]]
        return out

    def _stem_depth_classes(self) -> np.ndarray:
        """Per ``d`` option index: the first option index with the same stem (kept only at the largest depth)."""
        keeps = [o == self.macro.max_extra_depth for o in self.choice("d").options]
        return np.array([keeps.index(k) for k in keeps], dtype=np.int64)

    def _stem_width_classes(self) -> np.ndarray:
        widths = [self.macro.stem_mid(o) for o in self.choice("w").options]
        return np.array([widths.index(c) for c in widths], dtype=np.int64)

    @property
    def size(self) -> int:
        """Distinct networks: stem variants x per-stage depth/expand combinations x stage widths x resolutions."""
        d, e, w = (self.choice(k).options for k in ("d", "e", "w"))
        stem = len(set(self._stem_depth_classes())) * len(set(self._stem_width_classes()))
        stages = 1
        for base in self.macro.base_depths:
            stages *= sum(len(e) ** (base + extra) for extra in d)
        return stem * len(w) ** (self.choice("w").count - 1) * stages * len(self.choice("r").options)

    # ------------------------------------------------------------- features
    def feature_kinds(self) -> tuple[str, ...]:
        return super().feature_kinds() + ("ofa",)

    def feature_support(self, kind: str) -> dict[str, tuple]:
        if kind != "ofa" or self.macro.stem_stride != 2:
            return super().feature_support(kind)
        rs = self.choice("r").options
        inside = tuple(r for r in rs if r in OFA_PREDICTOR_RESOLUTIONS)
        return {"r": inside} if len(inside) < len(rs) else {}

    def features(self, genomes: np.ndarray, kind: str = "onehot") -> np.ndarray:
        if kind != "ofa":
            return super().features(genomes, kind)
        return self.ofa_features(self.canonical(self.check_genomes(genomes)))

    def ofa_features(self, genomes: np.ndarray) -> np.ndarray:
        """once-for-all's ResNet50 predictor input (``ResNetArchEncoder``, 82 columns for ImageNet): one-hot
        resolution, stem kept (d[0] > 0), one-hot width index per position, one-hot expand ratio per block
        (blocks beyond their stage's depth left at zero). By value, so restrictions keep the layout."""
        m = self.macro
        buckets = OFA_PREDICTOR_RESOLUTIONS if m.stem_stride == 2 else tuple(self.choice("r").options)
        n = len(genomes)
        n_w, n_e = len(m.width_mults), len(m.expand_ratios)
        W0 = len(buckets) + 2
        E0 = W0 + (m.n_stages + 2) * n_w
        out = np.zeros((n, E0 + m.n_blocks * n_e), dtype=np.float32)
        rows = np.arange(n)
        r = self.values(genomes, "r")[:, 0]
        index = {v: i for i, v in enumerate(buckets)}
        if any(v not in index for v in set(r.tolist())):
            raise InvalidArchitecture(f"once-for-all's ResNet50 features encode resolutions {list(buckets)}; got "
                                      f"{sorted(set(r.tolist()) - set(index))}")
        out[rows, [index[v] for v in r.tolist()]] = 1.0
        out[rows, len(buckets) + (self.values(genomes, "d")[:, 0] > 0)] = 1.0
        w = self.values(genomes, "w").astype(np.int64)
        out[rows[:, None], W0 + np.arange(m.n_stages + 2)[None, :] * n_w + w] = 1.0
        e = np.searchsorted(np.asarray(m.expand_ratios), self.values(genomes, "e"))
        active = self.active_blocks(genomes)
        rr, bb = np.nonzero(active)
        out[rr, E0 + bb * n_e + e[rr, bb]] = 1.0
        return out


def _resolutions(lo: int, hi: int, step: int) -> tuple[int, ...]:
    return tuple(range(lo, hi + 1, step))


@register_space("ofa-resnet50")
def ofa_resnet50() -> OFAResNet50Space:
    return OFAResNet50Space(
        "ofa-resnet50", ResNetMacro(), _resolutions(128, 224, 16),
        description="once-for-all ResNet50 (ofa_resnet50_d0-1-2_e0.2-0.25-0.35_w0.65-0.8-1.0; DyNAS-T's ofa_resnet50)",
    )


@register_space("ofa-resnet50-cifar")
def ofa_resnet50_cifar() -> OFAResNet50Space:
    return OFAResNet50Space(
        "ofa-resnet50-cifar", ResNetMacro(stem_stride=1, max_pool=False, n_classes=10), (24, 28, 32),
        description="once-for-all ResNet50 for 32x32 images, 10 classes (stride-1 stem, no max pooling; CIFAR-10)",
    )
