"""DεpS, Delayed ε-Shrinking (Annavajjala, Khare et al., ECCV 2024).

* FM-Warmup: the full model trains alone, on labels, for the first ``shrink_start`` (about 50 %)
  of the schedule; shrinking starts from a partially trained network instead of a converged one
  (once-for-all) or a random one (BigNAS).
* E-Shrinking: once shrinking starts, the subnets' share of the update is scaled by ε, which
  grows linearly from 1/W to 1 over a warm-up window of W steps (``eps_warmup`` of the schedule),
  so the full model's accuracy is not disrupted; the full model keeps its full learning rate.
* IKD-Warmup: subnets learn by in-place distillation from the max subnet's soft labels of the
  same step, sampled by the sandwich rule (max on labels, min, and ``n_random`` random subnets),
  with every elastic dimension shrinking at once.

One cosine learning-rate schedule with a short linear warm-up spans the whole run. The paper
fixes the 50 % delay; the length of the ε window is not pinned there, and 10 % of the schedule is
this engine's default.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import (
    PhaseSchedule,
    Strategy,
    SubnetTask,
    cosine_factor,
    max_arch,
    min_arch,
    register_strategy,
    sample_archs,
)

__all__ = ["DelayedEpsilonShrinking"]


@dataclass(frozen=True)
class DepsOptions:
    shrink_start: float = 0.5  # share of the schedule the full model trains alone (FM-Warmup)
    eps_warmup: float = 0.1  # share of the schedule over which epsilon ramps to 1 (E-Shrinking)
    n_random: int = 2  # random subnets per step besides max and min (sandwich sampling)
    kd_weight: float = 1.0  # in-place distillation from the max subnet (IKD)
    lr_warmup: float = 0.03  # linear learning-rate warm-up share


@register_strategy("deps")
class DelayedEpsilonShrinking(Strategy):
    Options = DepsOptions
    summary = "DεpS: full model alone until ~50%, then sandwich shrinking with an epsilon ramp and in-place KD"

    def validate(self) -> None:
        o = self.options
        self.require("shrink_start", 0 <= o.shrink_start < 1, "in [0, 1) (a share of training)")
        self.require("eps_warmup", 0 <= o.eps_warmup <= 1, "in [0, 1]")
        self.require("lr_warmup", 0 <= o.lr_warmup < 1, "in [0, 1)")
        self.require("n_random", o.n_random >= 0, ">= 0")
        self.require("kd_weight", o.kd_weight >= 0, ">= 0")
        self.schedule = PhaseSchedule(("full-warmup", "shrinking"), (o.shrink_start, 1 - o.shrink_start),
                                      self.total_steps)
        self.shrink_step = self.schedule.starts[-1] if len(self.schedule.names) > 1 else 0
        self.eps_steps = int(round(o.eps_warmup * self.total_steps))

    def phase(self, step: int) -> str:
        return self.schedule.phase(step)

    def epsilon(self, step: int) -> float:
        """Scale of the subnets' losses: 0 before shrinking, then a linear ramp to 1."""
        if step < self.shrink_step:
            return 0.0
        if self.eps_steps <= 0:
            return 1.0
        return min(1.0, (step - self.shrink_step + 1) / self.eps_steps)

    def plan(self, step: int, rng: np.random.Generator) -> list[SubnetTask]:
        tasks = [SubnetTask(max_arch(self.space), "max")]
        if step < self.shrink_step:
            return tasks
        eps, kd = self.epsilon(step), self.options.kd_weight
        subnets = [("min", min_arch(self.space))]
        subnets += [("random", a) for a in sample_archs(self.space, rng, self.options.n_random)]
        label = 0.0 if kd > 0 else 1.0  # without distillation the subnets learn from labels
        tasks += [SubnetTask(arch, role, label, kd, "inplace" if kd > 0 else None, eps) for role, arch in subnets]
        return tasks

    def lr_factor(self, step: int) -> float:
        return cosine_factor(step, self.total_steps, int(round(self.options.lr_warmup * self.total_steps)))

    def scalars(self, step: int) -> dict[str, float]:
        return {"epsilon": self.epsilon(step)}
