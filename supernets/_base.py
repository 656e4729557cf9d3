"""The Supernet contract and the supernet registry."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

from search_spaces import Arch, Registry, SearchSpace, get_space

__all__ = ["Supernet", "SUPERNETS", "register_supernet", "create_supernet", "list_supernets"]


class Supernet(nn.Module):
    """A weight-shared network over a search space.

    ``set_active(arch)`` selects a subnet, ``forward`` runs it, ``extract(arch)`` returns it as a
    static ``nn.Module`` with copied weights (TorchScript-able), ``sample_active(rng)`` draws one.
    """

    space: SearchSpace

    def __init__(self, space: SearchSpace):
        super().__init__()
        self.space = space
        self.active_arch: Arch = space.decode(self.space.n_options - 1)  # the largest subnet

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
        return self.set_active(self.space.decode(self.space.n_options - 1))

    def set_min(self) -> Arch:
        return self.set_active(self.space.decode(np.zeros(self.space.n_genes, dtype=np.int64)))

    def extract(self, arch: Mapping[str, Any] | None = None) -> nn.Module:
        """The subnet ``arch`` (default: the active one) as a static module with copied weights."""
        raise NotImplementedError

    def reorganize_channels(self, expand_stage: int = 0) -> None:
        """Sort elastic channels by importance so that smaller widths keep the most important ones."""

    def input_resolution(self, arch: Mapping[str, Any] | None = None) -> int:
        arch = self.active_arch if arch is None else self.space.validate(arch)
        return int(arch["r"])

    def dummy_input(self, batch_size: int = 1, arch: Mapping[str, Any] | None = None) -> torch.Tensor:
        r = self.input_resolution(arch)
        p = next(self.parameters())
        return torch.randn(batch_size, 3, r, r, device=p.device, dtype=p.dtype)


#: space name -> factory(space) returning a Supernet
SUPERNETS: Registry[Callable[[SearchSpace], Supernet]] = Registry("supernet", entry_point_group="nas.supernets")


def register_supernet(space_name: str):
    """Decorator registering a supernet factory for the space ``space_name``."""
    return SUPERNETS.register(space_name)


def create_supernet(space: str | SearchSpace, **kwargs) -> Supernet:
    """A freshly initialized supernet for ``space`` (a registered name or a space object)."""
    space_obj = get_space(space) if isinstance(space, str) else space
    base = space_obj.name.split("[", 1)[0]
    return SUPERNETS.get(base)(space_obj, **kwargs)


def list_supernets() -> list[str]:
    return SUPERNETS.names()
