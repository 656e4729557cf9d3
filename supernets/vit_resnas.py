"""The ViT-ResNAS supernet (Liao et al.): a conv patch stem, three stages of six elastic transformer
blocks with spatial reductions between them, and a class-token head, all at the space's
largest widths. ``set_active`` runs one subnet by slicing (prefixes of embedding channels, heads, MLP
hidden units; removed blocks skipped), as fast as the extracted static net; ``set_active_many`` runs
several subnets in one forward, each on its consecutive slice of the batch (the reference's
multi-architecture sampling): by default each slice on its own sliced weights after one shared stem
(so a step costs about what its subnets' MACs do), or with per-sample masks at the full width (the
reference's channel-drop masks; one wide pass, which a GPU may prefer). ``extract`` gives a plain
``StaticNet`` with copied weights. Weights start as DeiT's (trunc normal 0.02 for linear layers, class
tokens and position embeddings, zero biases, LayerNorm scale 1 and shift 0; convs keep PyTorch's default).

Build options: ``drop_path`` (the largest stochastic-depth rate, growing linearly over the 18 blocks
as in DeiT). The reductions are the space's (residual, or plain in the ``-plain`` spaces), so that
extracted nets, counts and latency keys agree; ``residual_reduction`` is still taken where it agrees
with the space (the option once chose the plain net, and checkpoints record it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from search_spaces import Arch
from search_spaces.errors import InvalidInput
from search_spaces.vit_resnas import DEPTH, N_STAGES, REMOVABLE, ViTResNASSpace

from ._base import MultiArch, Supernet, check_build_options, register_supernet
from .ops.conv_patch_embed import ElasticConvPatchEmbed
from .ops.elastic_cls_head import ElasticClsHead
from .ops.elastic_vit_block import ElasticViTBlock
from .ops.sample_masks import flag_mask, prefix_mask
from .ops.spatial_reduction import ElasticSpatialReduction
from .static import StaticNet

__all__ = ["ViTResNASSupernet"]


def kept_blocks(arch: Mapping[str, Any], stage: int) -> list[bool]:
    """Whether each of the ``DEPTH`` blocks of ``stage`` (1-based) runs in ``arch``."""
    kept = [True] * DEPTH
    for k, j in enumerate(REMOVABLE):
        kept[j] = bool(arch["keep"][len(REMOVABLE) * (stage - 1) + k])
    return kept


@dataclass
class _Masks:
    """The per-sample masks of a multi-architecture batch (CPU float tensors; ``on`` moves them)."""

    total: int
    embed: list[torch.Tensor]  # per stage [B, 1, C]
    count: list[torch.Tensor]  # per stage [B, 1, 1]
    heads: list[list[torch.Tensor]]  # per stage, per block [B, 1, heads * head_dim]
    hidden: list[list[torch.Tensor]]  # per stage, per block [B, 1, hidden]
    keep: list[list[torch.Tensor | None | bool]]  # [B, 1, 1]; None: every sample runs it; False: none does

    def on(self, like: torch.Tensor) -> "_Masks":
        def move(t):
            return t.to(like.device, like.dtype) if isinstance(t, torch.Tensor) else t

        return _Masks(self.total, [move(t) for t in self.embed], [move(t) for t in self.count],
                      [[move(t) for t in s] for s in self.heads], [[move(t) for t in s] for s in self.hidden],
                      [[move(t) for t in s] for s in self.keep])


@register_supernet("vit-resnas-tiny")
@register_supernet("vit-resnas-cifar")
@register_supernet("vit-resnas-tiny-plain")
@register_supernet("vit-resnas-cifar-plain")
class ViTResNASSupernet(Supernet, MultiArch):
    # registered as the class itself (its signature is the factory's), so that ``training_keywords`` and
    # ``option_variant`` read these
    training_options = ("drop_path",)
    variant_options = ("residual_reduction",)

    @classmethod
    def variant_space(cls, space: ViTResNASSpace, options: Mapping[str, Any]) -> str | None:
        value = options.get("residual_reduction")
        if value is None:
            return None
        if not isinstance(value, bool):  # the keyword's default is None, so the generic type check passes it
            raise InvalidInput(f"supernet option residual_reduction={value!r} must be true or false")
        return None if value == space.macro.residual_reduction else space.reduction_variant(value)

    def __init__(self, space: ViTResNASSpace, drop_path: float = 0.1, residual_reduction: bool | None = None):
        super().__init__(space)
        if isinstance(drop_path, bool) or not isinstance(drop_path, (int, float)) or not 0.0 <= drop_path < 1.0:
            raise InvalidInput(f"drop_path is a rate in [0, 1), got {drop_path!r}")
        check_build_options(space, {"residual_reduction": residual_reduction})
        m = space.macro
        self.drop_path_rate, self.residual_reduction = float(drop_path), m.residual_reduction
        widths = [max(e) for e in m.embeds]
        self.patch_embed = ElasticConvPatchEmbed(m.image, m.patch, m.stem_width, widths[0])
        rates = torch.linspace(0, self.drop_path_rate, N_STAGES * DEPTH).tolist()
        self.stages = nn.ModuleList(
            nn.ModuleList(ElasticViTBlock(widths[s], max(m.heads[s]), m.head_dims[s], max(m.mlps[s]),
                                          rates[s * DEPTH + j], removable=j in REMOVABLE) for j in range(DEPTH))
            for s in range(N_STAGES))
        self.reductions = nn.ModuleList(
            ElasticSpatialReduction(widths[s], widths[s + 1], m.grid(s + 1), self.residual_reduction)
            for s in range(N_STAGES - 1))
        self.head = ElasticClsHead(widths[-1], m.n_classes)
        self.embeds = list(widths)
        self._masks: _Masks | None = None
        self._masks_on: tuple[Any, _Masks] | None = None
        self._slices: tuple[list[Arch], list[int]] | None = None  # set_active_many's archs, run sliced
        self.set_active(self.active_arch)

    def build_options(self) -> dict:
        return {"drop_path": self.drop_path_rate, "residual_reduction": self.residual_reduction}

    # ------------------------------------------------------------------ selecting subnets
    def _apply_arch(self, arch: Arch) -> None:
        self._masks, self._masks_on, self._slices = None, None, None
        self._select(arch)

    def _select(self, arch: Arch) -> None:
        """Set every layer's widths to ``arch``'s (a multi-architecture setting is kept)."""
        self.embeds = [int(arch[f"embed{s}"]) for s in range(1, N_STAGES + 1)]
        for s, blocks in enumerate(self.stages, start=1):
            for block, heads, hidden, kept in zip(blocks, arch[f"heads{s}"], arch[f"mlp{s}"], kept_blocks(arch, s)):
                block.set_active(heads, hidden, kept)

    def set_active_many(self, archs: Sequence[Mapping[str, Any]], sizes: Sequence[int],
                        masks: bool = False) -> list[Arch]:
        if len(archs) != len(sizes) or not archs:
            raise InvalidInput(f"set_active_many takes one slice size per arch ({len(archs)} archs, "
                               f"{len(sizes)} sizes)")
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in sizes):
            raise InvalidInput(f"slice sizes are positive ints, got {list(sizes)!r}")
        archs = [self.space.validate(a) for a in archs]
        self.set_active(archs[0])  # the single-arch state (and ``active_arch``) of the first slice
        if not masks:
            self._slices = (archs, [int(n) for n in sizes])
            return archs
        m, sizes = self.space.macro, [int(n) for n in sizes]
        embed, count, heads, hidden, keep = [], [], [], [], []
        for s in range(1, N_STAGES + 1):
            widths = [a[f"embed{s}"] for a in archs]
            embed.append(prefix_mask(widths, sizes, max(m.embeds[s - 1])))
            count.append(embed[-1].sum(-1, keepdim=True))
            heads.append([prefix_mask([a[f"heads{s}"][j] for a in archs], sizes, max(m.heads[s - 1]),
                                      m.head_dims[s - 1]) for j in range(DEPTH)])
            hidden.append([prefix_mask([a[f"mlp{s}"][j] for a in archs], sizes, max(m.mlps[s - 1]))
                           for j in range(DEPTH)])
            flags = [kept_blocks(a, s) for a in archs]
            keep.append([None if all(f[j] for f in flags) else False if not any(f[j] for f in flags)
                         else flag_mask([f[j] for f in flags], sizes) for j in range(DEPTH)])
        self._masks = _Masks(sum(sizes), embed, count, heads, hidden, keep)
        self._masks_on = None
        return archs

    @property
    def multi_arch(self) -> bool:
        """Whether forwards run the archs of ``set_active_many`` (False: the single subnet of ``set_active``)."""
        return self._masks is not None or self._slices is not None

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._masks is not None:
            return self._forward_many(x)
        if self._slices is not None:
            return self._forward_slices(x)
        return self._after_stem(self.patch_embed(x, self.embeds[0]))

    def _after_stem(self, x: torch.Tensor) -> torch.Tensor:
        for s, blocks in enumerate(self.stages):
            for block in blocks:
                x = block(x)
            if s < N_STAGES - 1:
                x = self.reductions[s](x, self.embeds[s + 1])
        return self.head(x)

    def _check_total(self, x: torch.Tensor, total: int) -> None:
        if x.size(0) != total:
            raise InvalidInput(f"set_active_many sized the batch at {total} samples; got {x.size(0)}")

    def _forward_slices(self, x: torch.Tensor) -> torch.Tensor:
        archs, sizes = self._slices
        self._check_total(x, sum(sizes))
        # the stem's convs have no elastic width: one pass, so their BN normalizes over the whole batch
        # (as in the masked forward); each slice then runs its own widths
        y, outs, start = self.patch_embed.trunk(x), [], 0
        try:
            for arch, n in zip(archs, sizes):
                self._select(arch)
                outs.append(self._after_stem(self.patch_embed.project(y[start:start + n], self.embeds[0])))
                start += n
        finally:
            self._select(archs[0])
        return torch.cat(outs)

    def _device_masks(self, x: torch.Tensor) -> _Masks:
        self._check_total(x, self._masks.total)
        where = (x.device, x.dtype)
        if self._masks_on is None or self._masks_on[0] != where:
            self._masks_on = (where, self._masks.on(x))
        return self._masks_on[1]

    def _forward_many(self, x: torch.Tensor) -> torch.Tensor:
        m = self._device_masks(x)
        x = self.patch_embed.masked(x, m.embed[0])
        for s, blocks in enumerate(self.stages):
            for j, block in enumerate(blocks):
                keep = m.keep[s][j]
                if keep is not False:
                    x = block.masked(x, m.embed[s], m.count[s], m.heads[s][j], m.hidden[s][j], keep)
            if s < N_STAGES - 1:
                x = self.reductions[s].masked(x, m.embed[s], m.count[s], m.embed[s + 1])
        return self.head.masked(x, m.embed[-1], m.count[-1])

    # ------------------------------------------------------------------ extraction
    @torch.no_grad()
    def extract(self, arch: Mapping[str, Any] | None = None) -> nn.Module:
        """As ``Supernet.extract``; a multi-architecture setting stays as it was."""
        kept = self._masks, self._masks_on, self._slices
        try:
            return super().extract(arch)
        finally:
            self._masks, self._masks_on, self._slices = kept

    def _extract(self, arch: Arch) -> StaticNet:
        net = StaticNet(self.space.layers(arch), self.space.input_shape(arch))
        e = self.embeds
        stem, pe = net.patch_embed, self.patch_embed
        stem[0].load_state_dict(pe.conv.state_dict())
        stem[1].load_state_dict(pe.res.state_dict())
        stem[2].proj.weight.copy_(pe.proj.weight[:e[0]])
        stem[2].proj.bias.copy_(pe.proj.bias[:e[0]])
        stem[2].cls_token.copy_(pe.cls_token[..., :e[0]])
        stem[2].pos_embed.copy_(pe.pos_embed[..., :e[0]])
        for s, blocks in enumerate(self.stages, start=1):
            for j, block in enumerate(blocks):
                if block.kept:
                    attn, ffn = getattr(net, f"s{s}b{j}")
                    _copy_norm(attn.main.norm, block.norm1, e[s - 1])
                    _copy_linear(attn.main.attn.qkv, block.attn.qkv, block.heads * block.attn.head_dim, e[s - 1])
                    _copy_linear(attn.main.attn.proj, block.attn.proj, e[s - 1], block.heads * block.attn.head_dim)
                    _copy_norm(ffn.main.norm, block.norm2, e[s - 1])
                    _copy_linear(ffn.main.mlp.fc1, block.mlp.fc1, block.hidden, e[s - 1])
                    _copy_linear(ffn.main.mlp.fc2, block.mlp.fc2, e[s - 1], block.hidden)
            if s < N_STAGES:
                target, source, c, c2 = getattr(net, f"reduce{s}"), self.reductions[s - 1], e[s - 1], e[s]
                _copy_norm(target.norm, source.norm, c)
                target.conv.weight.copy_(source.conv.weight[:c2, :c])
                target.conv.bias.copy_(source.conv.bias[:c2])
                target.pos_embed.copy_(source.pos_embed[..., :c2])
                _copy_linear(target.cls_proj, source.cls_proj, c2, c)
        _copy_norm(net.head.norm, self.head.norm, e[-1])
        _copy_linear(net.head.linear, self.head.linear, self.space.n_classes, e[-1])
        return net


def _copy_norm(target: nn.LayerNorm, source, channels: int) -> None:
    target.weight.copy_(source.weight[:channels])
    target.bias.copy_(source.bias[:channels])


def _copy_linear(target: nn.Linear, source, out: int, inp: int) -> None:
    """``out``: outputs per group of ``source`` (qkv: per q, k and v)."""
    w, b = source.active_params(out, inp)
    target.weight.copy_(w)
    target.bias.copy_(b)
