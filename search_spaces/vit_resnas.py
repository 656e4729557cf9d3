"""ViT-ResNAS (Liao et al.): a residual spatial-reduction vision transformer and its search space.

A conv patch stem (3x3 stride 2, a two-conv residual block, a kxk stride-k patch projection with the
class token and a position embedding), then three stages of six transformer blocks with a residual
spatial reduction (conv 3x3 stride 2: half the token grid, a wider embedding) between stages, and a
LayerNorm + linear head on the class token. Per stage the embedding width ``embed{s}`` is searched;
per block the attention heads ``heads{s}`` (a fixed head dim per stage, so the attention width is
heads x head dim) and the MLP hidden width ``mlp{s}``; blocks 1, 3 and 5 of a stage can be removed
(``keep``, 9 flags), as in the reference's ``sr_tiny_mh``. The reference repository's ``network_def``
tuples are read and written (``search_spaces.vit_resnas_network_def``).

The plain spatial reduction of the paper's ablation is a network of its own, so it is a space of its own
(``vit-resnas-tiny-plain``, ``vit-resnas-cifar-plain``: the same choices and archs): every op, count, key
and latency table of a space is then its network's, and its supernet reads the reduction from the space.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from . import transformer_ops  # noqa: F401  (registers the transformer op kinds)
from ._registry import register_space
from ._space import Arch, Choice, SearchSpace
from .errors import InvalidArchitecture, InvalidInput
from .formats import ForeignArchFormat
from .ops import Op
from .structure import SlotSpec, Structured

__all__ = ["ViTResNASMacro", "ViTResNASSpace", "vit_resnas_tiny", "vit_resnas_cifar", "vit_resnas_tiny_plain",
           "vit_resnas_cifar_plain", "N_STAGES", "DEPTH", "REMOVABLE", "PLAIN"]

N_STAGES = 3
DEPTH = 6  # transformer blocks per stage
REMOVABLE = (1, 3, 5)  # the blocks of a stage that ``keep`` may remove (0, 2 and 4 always run)
PLAIN = "-plain"  # the name suffix of a registered space's plain-reduction variant


@dataclass(frozen=True)
class ViTResNASMacro:
    """The fixed shape of a ViT-ResNAS space: input, patch stem, per-stage head dims and option tuples
    (largest first), classes. ``patch`` is the total stride of the stem (stage 1's token grid is
    ``image // patch``)."""

    image: int
    patch: int
    stem_width: int
    head_dims: tuple[int, int, int]
    embeds: tuple[tuple[int, ...], ...]
    heads: tuple[tuple[int, ...], ...]
    mlps: tuple[tuple[int, ...], ...]
    n_classes: int
    residual_reduction: bool = True  # False: the paper's plain (non-residual) spatial reduction ablation

    def __post_init__(self):
        if self.patch % 2 or self.image % self.patch:
            raise ValueError(f"patch {self.patch} must be even and divide the image size {self.image}")
        for what in ("head_dims", "embeds", "heads", "mlps"):
            if len(getattr(self, what)) != N_STAGES:
                raise ValueError(f"{what} needs one entry per stage ({N_STAGES})")

    def grid(self, stage: int) -> int:
        """Side of the token grid of ``stage`` (1-based): halved (rounded up) by each spatial reduction."""
        side = self.image // self.patch
        for _ in range(stage - 1):
            side = (side + 1) // 2
        return side

    def attention_widths(self, stage: int) -> tuple[int, ...]:
        return tuple(h * self.head_dims[stage - 1] for h in self.heads[stage - 1])


class ViTResNASSpace(Structured, ForeignArchFormat, SearchSpace):
    """Per stage ``embed{s}`` (one value), ``heads{s}`` and ``mlp{s}`` (one per block); ``keep`` (9 flags:
    ``keep[3*(s-1) + k]`` keeps block ``2k+1`` of stage ``s``). ``attn{s}`` (attention widths) is accepted
    in place of ``heads{s}``."""

    foreign_format = "network_def.json"

    def __init__(self, name: str, macro: ViTResNASMacro, description: str = ""):
        self.macro, self.n_classes = macro, macro.n_classes
        choices = []
        for s in range(1, N_STAGES + 1):
            hd = macro.head_dims[s - 1]
            choices += [Choice(f"embed{s}", macro.embeds[s - 1], 1, f"embedding width of stage {s}"),
                        Choice(f"heads{s}", macro.heads[s - 1], DEPTH,
                               f"attention heads per block of stage {s} (head dim {hd})"),
                        Choice(f"mlp{s}", macro.mlps[s - 1], DEPTH, f"MLP hidden width per block of stage {s}")]
        choices.append(Choice("keep", (True, False), N_STAGES * len(REMOVABLE),
                              "whether blocks 1, 3, 5 of each stage run (stage-major)"))
        super().__init__(name, choices, description)

    # ------------------------------------------------------------------ arch dicts
    def validate(self, arch: Mapping[str, Any]) -> Arch:
        if isinstance(arch, Mapping):
            arch = self._heads_from_widths(arch)
        return super().validate(arch)

    def _heads_from_widths(self, arch: Mapping[str, Any]) -> dict:
        """``attn{s}`` (attention widths) rewritten as ``heads{s}``; a width must be heads x the stage's head dim."""
        out = dict(arch)
        for s in range(1, N_STAGES + 1):
            key = f"attn{s}"
            if key not in out:
                continue
            if f"heads{s}" in out:
                raise InvalidArchitecture(f"both heads{s} and {key} given for space {self.name}; give one of them")
            hd, heads = self.macro.head_dims[s - 1], self.choice(f"heads{s}")
            allowed = ", ".join(str(h * hd) for h in heads.options)
            allowed = f"allowed attention widths: {allowed} ({heads.allowed} heads x {hd})"
            widths = self._width_list(key, out.pop(key), heads.count, allowed)
            converted = []
            for j, width in enumerate(widths):
                whole = isinstance(width, int) and not isinstance(width, bool)
                if not whole or width % hd or width // hd not in heads.options:
                    why = f"is not a multiple of stage {s}'s head dim {hd}" if whole and width % hd else \
                        "is not offered"
                    raise InvalidArchitecture(f"{key}[{j}]={width!r} {why} in space {self.name}; {allowed}")
                converted.append(width // hd)
            out[f"heads{s}"] = converted
        return out

    def _width_list(self, key: str, value: Any, count: int, allowed: str) -> list:
        """``attn{s}`` as a list of ``count`` widths. Checked here, not by ``heads{s}``'s Choice, so that an
        error names the key the user wrote and widths (not head counts) as what is allowed."""
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if not isinstance(value, (list, tuple)) or len(value) != count:
            got = f"{len(value)} values" if isinstance(value, (list, tuple)) else repr(value)
            raise InvalidArchitecture(f"{key} must be a list of {count} attention widths for space {self.name}; "
                                      f"got {got}; {allowed}")
        return [v.item() if isinstance(v, np.generic) else v for v in value]

    def reduction_variant(self, residual: bool) -> str:
        """The name of the space with this one's choices (and restriction) whose reductions are residual or
        plain: checkpoints and build options that name the reduction find the space they belong to."""
        family = self.family.removesuffix(PLAIN)
        return (family if residual else family + PLAIN) + self.name[len(self.family):]

    def attention_widths(self, arch: Mapping[str, Any]) -> dict[str, list[int]]:
        """``{"attn1": [...6], ...}``: the attention width of every block."""
        arch = self.validate(arch)
        return {f"attn{s}": [h * self.macro.head_dims[s - 1] for h in arch[f"heads{s}"]]
                for s in range(1, N_STAGES + 1)}

    def extremes(self) -> tuple[Arch, Arch]:
        """Largest: every first option, every block kept; smallest: every last option, blocks removed."""
        largest = {c.key: c.options[0] if c.count == 1 else [c.options[0]] * c.count for c in self.choices}
        smallest = {c.key: c.options[-1] if c.count == 1 else [c.options[-1]] * c.count for c in self.choices}
        return largest, smallest

    # ------------------------------------------------------------------ genomes
    def active_blocks(self, genomes: np.ndarray) -> np.ndarray:
        """``[n, 3 * 6]`` bool (stage-major): whether each block runs."""
        keep = self.values(genomes, "keep").astype(bool)
        out = np.ones((len(genomes), N_STAGES, DEPTH), dtype=bool)
        out[:, :, list(REMOVABLE)] = keep.reshape(len(genomes), N_STAGES, len(REMOVABLE))
        return out.reshape(len(genomes), N_STAGES * DEPTH)

    def active_mask(self, genomes: np.ndarray) -> np.ndarray:
        """Heads and MLP genes of a removed block are inactive (canonical ids ignore them)."""
        mask = np.ones(genomes.shape, dtype=bool)
        blocks = self.active_blocks(genomes)
        for s in range(1, N_STAGES + 1):
            for key in (f"heads{s}", f"mlp{s}"):
                if key in self.gene_slices:
                    mask[:, self.gene_slices[key]] = blocks[:, (s - 1) * DEPTH:s * DEPTH]
        return mask

    @property
    def size(self) -> int:
        keep = self.choice("keep").options
        total = 1
        for s in range(1, N_STAGES + 1):
            per_block = len(self.choice(f"heads{s}").options) * len(self.choice(f"mlp{s}").options)
            removable = per_block * (True in keep) + (False in keep)
            total *= len(self.choice(f"embed{s}").options) * per_block ** (DEPTH - len(REMOVABLE)) \
                * removable ** len(REMOVABLE)
        return int(total)

    # ------------------------------------------------------------------ network_def
    def network_def(self, arch: Mapping[str, Any], compact: bool = False) -> tuple:
        from .vit_resnas_network_def import network_def
        return network_def(self, arch, compact)

    def arch_from_network_def(self, value: Any) -> Arch:
        from .vit_resnas_network_def import arch_from_network_def
        return arch_from_network_def(self, value)

    def is_foreign_arch(self, obj: Any) -> bool:
        return (isinstance(obj, dict) and "network_def" in obj) or \
            (isinstance(obj, list) and bool(obj) and isinstance(obj[0], list))

    def arch_from_foreign(self, obj: Any, path: Path, resolution: int | None = None) -> dict:
        if resolution is not None:
            raise InvalidInput(f"--resolution: space {self.name} has a fixed {self.macro.image}x{self.macro.image} "
                               f"input")
        value = obj["network_def"] if isinstance(obj, dict) else obj
        try:
            return self.arch_from_network_def(value)
        except InvalidInput as e:
            raise type(e)(f"{path}: {e}") from None

    def arch_to_foreign(self, arch: Mapping[str, Any]) -> dict:
        from .vit_resnas_network_def import network_def_text, to_lists
        nd = self.network_def(arch)
        return {"format": "vit-resnas-network-def", "network_def": to_lists(nd), "text": network_def_text(nd)}

    # ------------------------------------------------------------------ structure
    def input_shape(self, arch: Mapping[str, Any]) -> tuple[int, int, int]:
        self.validate(arch)
        return 3, self.macro.image, self.macro.image

    def slot_specs(self) -> list[SlotSpec]:
        slots = [SlotSpec("patch_embed", (("embed1", 0),), self._stem)]
        for s in range(1, N_STAGES + 1):
            for j in range(DEPTH):
                slots.append(SlotSpec(f"s{s}b{j}", ((f"embed{s}", 0), (f"heads{s}", j), (f"mlp{s}", j)),
                                      lambda c, h, m, s=s, j=j: self._block(s, j, c, h, m)))
            if s < N_STAGES:
                slots.append(SlotSpec(f"reduce{s}", ((f"embed{s}", 0), (f"embed{s + 1}", 0)),
                                      lambda c, c2, s=s: self._reduce(s, c, c2)))
        side = self.macro.grid(N_STAGES)
        slots.append(SlotSpec("head", ((f"embed{N_STAGES}", 0),), lambda c: (
            Op("cls_head", (side, side, c), (1, 1, self.n_classes), fused="cls_head", name="head"),)))
        return slots

    def _block_slots(self) -> np.ndarray:
        names = [s.name for s in self.structure().slots]
        return np.array([names.index(f"s{s}b{j}") for s in range(1, N_STAGES + 1) for j in range(DEPTH)])

    def slot_active(self, genomes: np.ndarray) -> np.ndarray:
        out = np.ones((len(genomes), self.structure().n_slots), dtype=bool)
        out[:, self._block_slots()] = self.active_blocks(genomes)
        return out

    def _stem(self, embed: int) -> tuple[Op, ...]:
        m = self.macro
        image, mid, half = m.image, m.stem_width, m.image // 2
        side, k = m.grid(1), m.patch // 2
        inner = (half, half, mid)
        conv = Op("conv", (image, image, 3), inner, 3, 2, act="relu", bn=True, fused="conv+bn+act", name="patch_embed")
        parts = tuple(Op("conv", inner, inner, 3, 1, act="relu", bn=True, fused="conv+bn+act", name=f"conv{i}")
                      for i in (1, 2))
        res = Op("resblock", inner, inner, 3, 1, mid, 0, "relu", True, True, "block", name="patch_embed", parts=parts)
        embed_op = Op("patch_embed", inner, (side, side, embed), k, k, fused="patch_embed", name="patch_embed")
        return conv, res, embed_op

    def _block(self, stage: int, j: int, embed: int, heads: int, mlp: int) -> tuple[Op, ...]:
        side, name = self.macro.grid(stage), f"s{stage}b{j}"
        shape, width = (side, side, embed), heads * self.macro.head_dims[stage - 1]
        norm = Op("layernorm", shape, shape, fused="layernorm", name="norm")
        attn = Op("attention", shape, shape, mid=width, fused="attention", heads=heads, name="attn")
        ffn = Op("mlp", shape, shape, mid=mlp, act="gelu", fused="mlp", name="mlp")
        return (Op("vit_attn", shape, shape, mid=width, residual=True, fused="block", heads=heads, name=name,
                   parts=(norm, attn)),
                Op("vit_mlp", shape, shape, mid=mlp, act="gelu", residual=True, fused="block", name=name,
                   parts=(norm, ffn)))

    def _reduce(self, stage: int, embed: int, embed_next: int) -> tuple[Op, ...]:
        side, side2 = self.macro.grid(stage), self.macro.grid(stage + 1)
        return (Op("spatial_reduction", (side, side, embed), (side2, side2, embed_next), 3, 2,
                   residual=self.macro.residual_reduction, fused="spatial_reduction", name=f"reduce{stage}"),)


def _quarter(options: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(v // 4 for v in options)


_TINY = dict(
    embeds=((256, 224, 192, 176, 160), (512, 448, 384, 352, 320), (1024, 896, 768, 704, 640)),
    heads=((6, 5, 4, 3), (12, 10, 8, 6), (12, 10, 8, 6)),
    mlps=(tuple(range(768, 383, -64)), tuple(range(1536, 767, -128)), tuple(range(3072, 1535, -256))),
)


def _tiny(residual: bool) -> ViTResNASMacro:
    return ViTResNASMacro(224, 14, 24, (32, 48, 64), _TINY["embeds"], _TINY["heads"], _TINY["mlps"], 1000, residual)


def _cifar(residual: bool) -> ViTResNASMacro:
    return ViTResNASMacro(32, 4, 24, (8, 12, 16), tuple(map(_quarter, _TINY["embeds"])), _TINY["heads"],
                          tuple(map(_quarter, _TINY["mlps"])), 10, residual)


_TINY_TEXT = ("ViT-ResNAS tiny for 224x224 images, 1000 classes (the reference's sr_tiny_mh: 16x16 / 8x8 / 4x4 "
              "tokens, 6 blocks per stage)")
_CIFAR_TEXT = ("ViT-ResNAS for 32x32 images, 10 classes (the tiny space's widths / 4: 8x8 / 4x4 / 2x2 tokens, 6 "
               "blocks per stage)")
_PLAIN_TEXT = "; plain spatial reductions (no pooled skip: the paper's ablation)"


@register_space("vit-resnas-tiny")
def vit_resnas_tiny() -> ViTResNASSpace:
    return ViTResNASSpace("vit-resnas-tiny", _tiny(True), description=_TINY_TEXT)


@register_space("vit-resnas-cifar")
def vit_resnas_cifar() -> ViTResNASSpace:
    return ViTResNASSpace("vit-resnas-cifar", _cifar(True), description=_CIFAR_TEXT)


@register_space("vit-resnas-tiny-plain")
def vit_resnas_tiny_plain() -> ViTResNASSpace:
    return ViTResNASSpace("vit-resnas-tiny-plain", _tiny(False), description=_TINY_TEXT + _PLAIN_TEXT)


@register_space("vit-resnas-cifar-plain")
def vit_resnas_cifar_plain() -> ViTResNASSpace:
    return ViTResNASSpace("vit-resnas-cifar-plain", _cifar(False), description=_CIFAR_TEXT + _PLAIN_TEXT)
