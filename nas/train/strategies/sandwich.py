"""The sandwich rule with in-place distillation (BigNAS, Yu et al., ECCV 2020; AttentiveNAS, CVPR 2021).

Every step trains the largest subnet on labels, then the smallest and ``n_random`` (2) uniformly
sampled subnets on the largest one's detached soft labels; gradients accumulate into one update.
Each elastic dimension (resolution included) is sampled at once from the first step; one cosine
learning-rate schedule with a short linear warm-up spans the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Strategy, SubnetTask, cosine_factor, max_arch, min_arch, register_strategy, sample_archs

__all__ = ["Sandwich"]


@dataclass(frozen=True)
class SandwichOptions:
    n_random: int = 2  # random subnets per step besides max and min
    kd_weight: float = 1.0  # in-place distillation from the max subnet
    lr_warmup: float = 0.03  # linear learning-rate warm-up share


@register_strategy("sandwich")
class Sandwich(Strategy):
    Options = SandwichOptions
    summary = "BigNAS/AttentiveNAS sandwich rule: max on labels; min and random subnets distill in place"

    def validate(self) -> None:
        o = self.options
        self.require("n_random", o.n_random >= 0, ">= 0")
        self.require("kd_weight", o.kd_weight >= 0, ">= 0")
        self.require("lr_warmup", 0 <= o.lr_warmup < 1, "in [0, 1)")

    def phase(self, step: int) -> str:
        return "sandwich"

    def plan(self, step: int, rng: np.random.Generator) -> list[SubnetTask]:
        kd = self.options.kd_weight
        label = 0.0 if kd > 0 else 1.0
        teacher = "inplace" if kd > 0 else None
        tasks = [SubnetTask(max_arch(self.space), "max"), SubnetTask(min_arch(self.space), "min", label, kd, teacher)]
        tasks += [SubnetTask(a, "random", label, kd, teacher)
                  for a in sample_archs(self.space, rng, self.options.n_random)]
        return tasks

    def lr_factor(self, step: int) -> float:
        return cosine_factor(step, self.total_steps, int(round(self.options.lr_warmup * self.total_steps)))
