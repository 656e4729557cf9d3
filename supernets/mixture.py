"""A mixture of M supernets over one space (Balanced Mixture of SuperNets, Roshtkhari et al., 2023).

Each member is a whole supernet of the space with its own weights; each architecture is assigned
to the member that scores it best. ``scores`` is BMS's ``W`` ([architectures, members], an
exponential moving average of held-out accuracy, initialized to 1) and ``temperature`` the
softmax temperature it was last used at: both are buffers, so a checkpoint holds them with the
members. ``set_active(arch)`` runs ``arch`` on its assigned member (the most probable one under the
balanced assignment), so evaluation, search and export work on a mixture as on any supernet;
``set_active(arch, member=m)`` is how training picks a member. Architectures are indexed by their
canonical genome, so the space must be small enough to enumerate.
"""

from __future__ import annotations

import itertools
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from search_spaces import Arch, SearchSpace
from search_spaces.errors import InvalidInput, NotSupported

from ._base import Supernet

__all__ = ["MixtureSupernet", "balanced_probabilities", "apply_marginals", "MAX_MIXTURE_ARCHS", "BALANCE_TOL"]

MAX_MIXTURE_ARCHS = 4096  # W has a row per architecture
BALANCE_TOL = 1e-4  # BMS: stop renormalizing once the members' marginal is this close (KL) to uniform


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def balanced_probabilities(scores: np.ndarray, temperature: float, tol: float = BALANCE_TOL,
                           max_rounds: int = 10_000) -> tuple[np.ndarray, list[np.ndarray]]:
    """P(member | architecture) = softmax(T * W) per row, its columns divided by the members' marginal and
    the rows renormalized until the marginal's KL divergence to uniform is below ``tol`` (BMS's balancing).
    Returns the balanced matrix and the marginals divided out, in order (to re-apply to a later ``W``)."""
    prob = _softmax(temperature * np.asarray(scores, dtype=np.float64))
    n_members = prob.shape[1]
    marginals: list[np.ndarray] = []
    for _ in range(max_rounds):
        marginal = prob.mean(axis=0)
        if abs(float(np.sum(marginal * np.log(marginal * n_members)))) <= tol:
            break
        marginals.append(marginal)
        prob = prob / marginal
        prob /= prob.sum(axis=1, keepdims=True)
    return prob, marginals


def apply_marginals(scores: np.ndarray, temperature: float, marginals: Sequence[np.ndarray]) -> np.ndarray:
    """softmax(T * W) renormalized by marginals found earlier (BMS re-balances once per epoch)."""
    prob = _softmax(temperature * np.asarray(scores, dtype=np.float64))
    for marginal in marginals:
        prob = prob / marginal
        prob /= prob.sum(axis=1, keepdims=True)
    return prob


class MixtureSupernet(Supernet):
    """M member supernets of one space, and the assignment of architectures to them."""

    def __init__(self, space: SearchSpace, members: Sequence[Supernet]):
        if len(members) < 2:
            raise InvalidInput(f"a mixture needs at least 2 members, got {len(members)}")
        if space.size > MAX_MIXTURE_ARCHS:
            raise NotSupported(f"a mixture assigns each architecture of {space.name} to a member, and its "
                               f"{space.size} architectures exceed the {MAX_MIXTURE_ARCHS} it can index; restrict "
                               f"the space (e.g. {space.family}[key=v/v])")
        super().__init__(space)
        self.members = nn.ModuleList(members)
        self.normalizes_with_batch_stats = members[0].normalizes_with_batch_stats
        genomes = np.array(list(itertools.product(*[range(n) for n in space.n_options])), dtype=np.int64)
        genomes = genomes.reshape(len(genomes), space.n_genes)
        keys = space.keys_of(genomes)
        self._row_of: dict[Any, int] = {}
        for key in keys.tolist():
            self._row_of.setdefault(key, len(self._row_of))
        self.register_buffer("scores", torch.ones(len(self._row_of), len(members), dtype=torch.float64))
        self.register_buffer("temperature", torch.ones((), dtype=torch.float64))
        self.active_member = 0
        self.set_active(self.active_arch)

    @property
    def n_members(self) -> int:
        return len(self.members)

    @property
    def n_archs(self) -> int:
        return len(self._row_of)

    def build_options(self) -> dict:
        return {"members": self.n_members}

    def arch_rows(self, archs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The row of ``scores`` each arch owns (equivalent archs share one)."""
        keys = self.space.keys_of(self.space.encode_many(archs))
        return np.array([self._row_of[k] for k in keys.tolist()], dtype=np.int64)

    def assignment(self) -> np.ndarray:
        """P(member | architecture), balanced, at the last training temperature: ``[n_archs, M]``."""
        return balanced_probabilities(self.scores.cpu().numpy(), float(self.temperature))[0]

    def assigned_member(self, arch: Mapping[str, Any]) -> int:
        return int(np.argmax(self.assignment()[self.arch_rows([arch])[0]]))

    def set_active(self, arch: Mapping[str, Any], member: int | None = None) -> Arch:
        arch = self.space.validate(arch)
        if member is None:
            member = self.assigned_member(arch)
        elif not 0 <= member < self.n_members:
            raise InvalidInput(f"member {member} does not exist; this mixture has members 0..{self.n_members - 1}")
        self.members[member].set_active(arch)
        self.active_member, self.active_arch = int(member), arch
        return arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.members[self.active_member](x)

    def _extract(self, arch: Arch) -> nn.Module:
        return self.members[self.active_member].extract(arch)

    def record_score(self, arch: Mapping[str, Any], member: int, score: float, decay: float) -> None:
        """BMS's update: ``W[a, m] = decay * W[a, m] + (1 - decay) * score``."""
        row = int(self.arch_rows([arch])[0])
        self.scores[row, member] = decay * self.scores[row, member] + (1.0 - decay) * float(score)
