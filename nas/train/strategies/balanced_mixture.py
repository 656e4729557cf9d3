"""Balanced Mixture of SuperNets (BMS; Roshtkhari et al., 2023) and its single-supernet baseline.

``balanced-mixture`` trains M supernets (``members``, default 4) over one space. Each step draws an
architecture uniformly and a member from the balanced P(member | architecture), trains that member
on the batch, then scores it on one held-out batch (accuracy in [0, 1]); ``W[a, m]`` tracks an
exponential moving average (``ema`` 0.9) of the scores. P is softmax(T * W) per architecture with
its columns renormalized against the members' marginal (found once per epoch, until its KL to
uniform is below 1e-4) so that every member keeps its share of architectures; the temperature T
grows linearly per epoch from 1 to ``t_max`` (100), from exploring to exploiting. Defaults follow
BMS's CIFAR-10 code: SGD at lr 0.1, momentum 0.9, no Nesterov, no weight decay, batch 128, a
50/50 split of the training set, cosine decay per epoch to 1% of the learning rate.

``spos`` is the same code with one member: uniform single-path sampling (Guo et al.'s SPOS; BMS's M=1
baseline), with no held-out scoring since there is nothing to assign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from supernets.mixture import MAX_MIXTURE_ARCHS, apply_marginals, balanced_probabilities

from .base import Strategy, SubnetTask, register_strategy

__all__ = ["BalancedMixture", "SinglePath"]

MAX_MEMBERS = 64  # each member is a whole supernet in memory (BMS uses up to 8)
_BMS_CONFIG = {"lr": 0.1, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0, "batch_size": 128,
               "label_smoothing": 0.0, "holdout": 0.5}


@dataclass(frozen=True)
class MixtureOptions:
    members: int = 4  # M supernets
    ema: float = 0.9  # W[a, m] <- ema * W[a, m] + (1 - ema) * held-out accuracy
    t_max: float = 100.0  # the softmax temperature grows linearly per epoch from 1 to t_max
    min_lr: float = 0.01  # cosine decay per epoch to this share of the learning rate (BMS: 0.001 at 0.1)
    score_images: int = 0  # held-out images each step's member is scored on (0: a training batch, as BMS)


@dataclass(frozen=True)
class SinglePathOptions:
    min_lr: float = 0.01


@register_strategy("balanced-mixture")
class BalancedMixture(Strategy):
    Options = MixtureOptions
    summary = "BMS: M supernets, each architecture drawn to a member by balanced softmax(T * held-out scores)"
    config_defaults = _BMS_CONFIG

    def validate(self) -> None:
        o = self.options
        self.mixture = None
        self._marginals: tuple[int, list] | None = None  # (epoch, the marginals BMS divides out that epoch)
        self.require("min_lr", 0 <= o.min_lr <= 1, "in [0, 1]")
        if isinstance(o, MixtureOptions):
            self.require("members", 1 <= o.members <= MAX_MEMBERS, f"from 1 (a single supernet) to {MAX_MEMBERS}")
            self.require("ema", 0 <= o.ema < 1, "in [0, 1)")
            self.require("t_max", 1 <= o.t_max < math.inf, "a finite number >= 1")
            self.require("score_images", o.score_images >= 0, ">= 0 (0: as many as a training batch)")
        if self.n_members > 1:
            if self.space.size > MAX_MIXTURE_ARCHS:
                raise self.unsupported(f"a mixture assigns each of its {self.space.size} architectures to a member, "
                                       f"more than the {MAX_MIXTURE_ARCHS} it indexes (use members=1, or restrict "
                                       "the space)")

    @property
    def n_members(self) -> int:
        return getattr(self.options, "members", 1)

    def supernet_options(self) -> dict:
        return {"members": self.n_members}

    def bind(self, supernet) -> None:
        self.mixture = supernet if self.n_members > 1 else None

    def phase(self, step: int) -> str:
        return "mixture" if self.n_members > 1 else "single-path"

    def epoch(self, step: int) -> int:
        return step // self.steps_per_epoch

    def temperature(self, step: int) -> float:
        epochs = max(self.total_steps // self.steps_per_epoch, 1)
        t_max = getattr(self.options, "t_max", 1.0)
        return 1.0 + (t_max - 1.0) * min(self.epoch(step), epochs - 1) / max(epochs - 1, 1)

    def probabilities(self, step: int) -> np.ndarray | None:
        """The balanced P(member | architecture) at ``step`` (None before the supernet is bound)."""
        if self.mixture is None:
            return None
        scores, t = self.mixture.scores.cpu().numpy(), self.temperature(step)
        epoch = self.epoch(step)
        if self._marginals is None or self._marginals[0] != epoch:  # BMS balances at the start of each epoch
            self._marginals = (epoch, balanced_probabilities(scores, t)[1])
            self.mixture.temperature.fill_(t)
        return apply_marginals(scores, t, self._marginals[1])

    def plan(self, step: int, rng: np.random.Generator) -> list[SubnetTask]:
        arch = self.space.decode(self.space.sample(1, rng)[0])
        if self.n_members == 1:
            return [SubnetTask(arch, "sampled")]
        prob = self.probabilities(step)
        row = prob[self.mixture.arch_rows([arch])[0]] if prob is not None else np.full(self.n_members,
                                                                                       1 / self.n_members)
        member = int(rng.choice(self.n_members, p=row / row.sum()))
        return [SubnetTask(arch, "sampled", member=member)]

    def score_images(self, batch_size: int) -> int:
        if self.n_members == 1:
            return 0
        return self.options.score_images or batch_size

    def record(self, step: int, task: SubnetTask, accuracy: float) -> None:
        if self.mixture is not None and task.member is not None:
            self.mixture.record_score(task.arch, task.member, accuracy, self.options.ema)

    def lr_factor(self, step: int) -> float:
        epochs = max(self.total_steps // self.steps_per_epoch, 1)
        floor = self.options.min_lr
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(self.epoch(step), epochs) / epochs))

    def scalars(self, step: int) -> dict[str, float]:
        return {"temperature": self.temperature(step)} if self.n_members > 1 else {}


@register_strategy("spos")
class SinglePath(BalancedMixture):
    Options = SinglePathOptions
    summary = "single-path one-shot: one uniformly sampled subnet per step (BMS's M=1 baseline)"
