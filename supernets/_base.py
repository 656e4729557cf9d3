"""The Supernet contract, its capabilities and the supernet registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from search_spaces import Arch, Registry, SearchSpace, get_space
from search_spaces.errors import InvalidInput
from search_spaces.names import split_overlays

__all__ = ["Supernet", "ChannelSorting", "MultiArch", "ForeignWeights", "FOREIGN_FORMATS", "SUPERNETS",
           "register_supernet", "create_supernet", "build_keywords", "training_keywords", "option_variant",
           "check_build_options", "list_supernets"]


class Supernet(nn.Module):
    """A weight-shared network over a search space.

    ``set_active(arch)`` selects a subnet, ``forward`` runs it, ``extract(arch)`` returns it as a
    static ``nn.Module`` with copied weights (TorchScript-able), ``sample_active(rng)`` draws one.
    """

    space: SearchSpace
    #: BN normalizes with batch statistics in eval mode too (no running statistics: BMS's supernets);
    #: extracted subnets have ordinary BN whose statistics BN recalibration sets
    normalizes_with_batch_stats: ClassVar[bool] = False
    #: build options that only shape training (a stochastic-depth rate), not what trained weights compute: a
    #: fine-tune may set them apart from its checkpoint's, every other option must match (``fine_tune_options``)
    training_options: ClassVar[tuple[str, ...]] = ()
    #: build options that pick a variant of the family which is a space of its own (its ops, counts and latency
    #: tables are that network's): the space fixes them, so a value may only agree with it (``variant_space``)
    variant_options: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def variant_space(cls, space: SearchSpace, options: Mapping[str, Any]) -> str | None:
        """The name of the space whose network ``options`` build, where that is not ``space`` (None: it is)."""
        return None

    def __init__(self, space: SearchSpace):
        super().__init__()
        self.space = space
        self.active_arch: Arch = space.validate(space.extremes()[0])  # the largest subnet

    def set_active(self, arch: Mapping[str, Any]) -> Arch:
        arch = self.space.validate(arch)
        self._apply_arch(arch)
        self.active_arch = arch
        return arch

    def _apply_arch(self, arch: Arch) -> None:
        raise NotImplementedError

    def sample_active(self, rng: np.random.Generator) -> Arch:
        return self.set_active(self.space.decode(self.space.sample(1, rng)[0]))

    def set_max(self) -> Arch:
        return self.set_active(self.space.extremes()[0])

    def set_min(self) -> Arch:
        return self.set_active(self.space.extremes()[1])

    @torch.no_grad()
    def extract(self, arch: Mapping[str, Any] | None = None) -> nn.Module:
        """The subnet ``arch`` (default: the active one) as a static module with copied weights, in the
        supernet's mode and on its device; the supernet's active subnet is left as it was."""
        previous = self.active_arch
        arch = self.set_active(previous if arch is None else arch)
        try:
            net = self._extract(arch)
        finally:
            self.set_active(previous)
        net.train(self.training)
        return net.to(next(self.parameters()).device)

    def _extract(self, arch: Arch) -> nn.Module:
        """The active subnet ``arch`` as a static module (``extract`` wraps it)."""
        raise NotImplementedError

    def build_options(self) -> dict:
        """The ``create_supernet`` keywords that rebuild this supernet (checkpoints record them)."""
        return {}

    def input_size(self, arch: Mapping[str, Any] | None = None) -> tuple[int, int]:
        """(height, width) of the images the subnet ``arch`` (default: the active one) takes."""
        _, h, w = self.space.input_shape(self.active_arch if arch is None else arch)
        return int(h), int(w)

    def dummy_input(self, batch_size: int = 1, arch: Mapping[str, Any] | None = None) -> torch.Tensor:
        c, h, w = self.space.input_shape(self.active_arch if arch is None else arch)
        p = next(self.parameters())
        return torch.randn(batch_size, c, h, w, device=p.device, dtype=p.dtype)


class ChannelSorting(ABC):
    """Capability: re-sort elastic channels by importance so that smaller settings of a choice keep the
    most important ones (once-for-all sorts before each expand phase of progressive shrinking)."""

    @abstractmethod
    def sort_channels(self, key: str, stage: int = 0) -> None:
        """Sort the channels choice ``key`` slices; ``stage`` k > 0 keeps the groups of the k largest options."""


class MultiArch(ABC):
    """Capability: one forward pass runs several subnets, each on its own consecutive slice of the batch
    (per-sample channel, head and block masks: ViT-ResNAS's multi-architecture sampling). Supernets
    without it train several archs per pass one sub-batch at a time (``nas.train.step``)."""

    @abstractmethod
    def set_active_many(self, archs: Sequence[Mapping[str, Any]], sizes: Sequence[int],
                        masks: bool = False) -> list[Arch]:
        """Make the next forwards run ``archs[i]`` on samples ``sum(sizes[:i]) .. sum(sizes[:i+1]) - 1`` of
        their batch (which holds exactly ``sum(sizes)`` samples), until ``set_active`` selects one subnet
        again; returns the validated archs. Every arch takes the same input size. ``masks``: run every
        slice at the full width with per-sample masks (else each on its own widths); outputs agree."""


#: every supernet class that loads another project's checkpoints (filled by subclassing ForeignWeights)
FOREIGN_FORMATS: list[type] = []


class ForeignWeights(ABC):
    """Capability: the supernet loads another project's state dicts (e.g. once-for-all's)."""

    foreign_name: ClassVar[str]  # e.g. "once-for-all OFAMobileNetV3"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not any(getattr(getattr(cls, m), "__isabstractmethod__", False) for m in ("recognizes", "load_foreign")):
            FOREIGN_FORMATS.append(cls)

    @classmethod
    @abstractmethod
    def recognizes(cls, state: Mapping[str, Any]) -> bool:
        """Whether ``state`` is a state dict in this supernet's foreign format (by its keys)."""

    @abstractmethod
    def load_foreign(self, state: Mapping[str, torch.Tensor]) -> None:
        """Copy ``state`` in (strict: every key, every shape; ``CheckpointError`` naming the first misfit)."""


#: space family -> factory(space) returning a Supernet
SUPERNETS: Registry[Callable[[SearchSpace], Supernet]] = Registry("supernet", entry_point_group="nas.supernets")


def register_supernet(space_name: str):
    """Decorator registering a supernet factory for the space family ``space_name``."""
    return SUPERNETS.register(space_name)


def _base_space(space: SearchSpace) -> SearchSpace:
    """The space whose supernet ``space`` runs: an overlay ``S+q`` runs the supernet of ``S``."""
    return space.base if split_overlays(space.family)[1] else space


def build_keywords(space: str | SearchSpace) -> dict[str, Any]:
    """The ``create_supernet`` keywords (besides ``members``) the space's supernet takes, with their defaults."""
    import inspect

    space_obj = _base_space(get_space(space) if isinstance(space, str) else space)
    params = list(inspect.signature(SUPERNETS.get(space_obj.family)).parameters.values())[1:]
    return {p.name: p.default for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def training_keywords(space: str | SearchSpace) -> tuple[str, ...]:
    """The build keywords of the space's supernet that only shape training (``Supernet.training_options``).
    Read off the registered factory: a Supernet class declares them, a factory function has none."""
    space_obj = _base_space(get_space(space) if isinstance(space, str) else space)
    return tuple(getattr(SUPERNETS.get(space_obj.family), "training_options", ()))


def option_variant(space: str | SearchSpace, options: Mapping[str, Any]) -> str | None:
    """The space whose network build ``options`` select, where another than ``space``'s (``Supernet.variant_space``;
    None: ``space``'s own, or a family without variants)."""
    space_obj = _base_space(get_space(space) if isinstance(space, str) else space)
    hook = getattr(SUPERNETS.get(space_obj.family), "variant_space", None)
    return hook(space_obj, options) if hook is not None else None


def check_build_options(space: str | SearchSpace, options: Mapping[str, Any]) -> None:
    """Refuse (one line, naming the space to use) build options that select another variant's network: costed
    by this space's ops, its subnets would be another network's."""
    space_obj = _base_space(get_space(space) if isinstance(space, str) else space)
    variant = option_variant(space_obj, options)
    if variant is None:
        return
    fixed = getattr(SUPERNETS.get(space_obj.family), "variant_options", ())
    given = ", ".join(f"{k}={v!r}" for k, v in options.items() if k in fixed) or repr(dict(options))
    raise InvalidInput(f"supernet option {given} builds the network of space {variant}, not {space_obj.name}: use "
                       f"space {variant} (its ops, counts and latency tables are that network's) and leave the "
                       "option out")


def create_supernet(space: str | SearchSpace, members: int = 1, **kwargs) -> Supernet:
    """A freshly initialized supernet for ``space`` (a registered name or a space object); ``members`` > 1
    gives a mixture of that many independently initialized supernets (``supernets.mixture``). An overlay
    space (``S+q``: ``space.base`` is ``S``) gets the supernet of its base: bits are applied after extraction."""
    space_obj = _base_space(get_space(space) if isinstance(space, str) else space)
    factory = SUPERNETS.get(space_obj.family)
    if isinstance(members, bool) or not isinstance(members, int) or members < 1:
        raise InvalidInput(f"a supernet has members >= 1 (1: a single supernet; M > 1: a mixture), got {members!r}")
    if members == 1:
        return factory(space_obj, **kwargs)
    from .mixture import MixtureSupernet

    return MixtureSupernet(space_obj, [factory(space_obj, **kwargs) for _ in range(members)])


def list_supernets() -> list[str]:
    return SUPERNETS.names()
