"""once-for-all's progressive shrinking (Cai et al., ICLR 2020; ``train_ofa_net.py``).

Phases, in order: ``full`` (the largest network alone, on labels), ``kernel`` (elastic kernel
size), ``depth-1`` / ``depth-2`` (elastic depth, first the two largest depths, then all), and
``expand-1`` / ``expand-2`` (elastic expand ratio, likewise). Every shrinking phase distills from
the frozen full network (soft-target cross-entropy, ``kd_ratio`` 1.0) on top of the label loss,
runs several subnets per step with accumulated gradients (1 / 2 / 4 in the kernel / depth /
expand phases), and each phase runs its own cosine schedule with once-for-all's learning rates.
Before each expand phase the middle channels are re-sorted by importance, keeping the channel
groups of the larger expand ratios intact (``reorganize_channels(expand_stage)``). The input
resolution is elastic in every shrinking phase, as in once-for-all.

Defaults are once-for-all's ImageNet schedule (full network 180 epochs, then 120, 25+120, 25+120),
used as proportions of ``--epochs``; learning rates are once-for-all's per-phase rates relative
to the kernel phase (3e-2 -> ``--lr``; 2.5e-3 and 7.5e-3 -> 1/12 and 1/4 of it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import (
    REORGANIZE,
    RESET_OPTIMIZER,
    SNAPSHOT_TEACHER,
    PhaseSchedule,
    Strategy,
    SubnetTask,
    cosine_factor,
    max_arch,
    register_strategy,
    sample_archs,
)

__all__ = ["ProgressiveShrinking", "PHASES"]

PHASES = ("full", "kernel", "depth-1", "depth-2", "expand-1", "expand-2")


@dataclass(frozen=True)
class ProgressiveShrinkingOptions:
    phase_epochs: tuple = (180.0, 120.0, 25.0, 120.0, 25.0, 120.0)  # proportions of the schedule
    phase_lr: tuple = (1.0, 1.0, 1 / 12, 0.25, 1 / 12, 0.25)  # x --lr
    phase_warmup_epochs: tuple = (5.0, 5.0, 0.0, 5.0, 0.0, 5.0)  # in the units of phase_epochs
    subnets_per_step: tuple = (1, 1, 2, 2, 4, 4)  # once-for-all's dynamic_batch_size
    kd_ratio: float = 1.0


@register_strategy("progressive-shrinking")
class ProgressiveShrinking(Strategy):
    Options = ProgressiveShrinkingOptions
    summary = "once-for-all: full net, then elastic kernel -> depth -> expand, KD from the full net"

    def validate(self) -> None:
        o = self.options
        self.require("phase_epochs", all(w >= 0 for w in o.phase_epochs) and sum(o.phase_epochs) > 0,
                     ">= 0 with a positive sum")
        self.require("subnets_per_step", all(n >= 1 for n in o.subnets_per_step), ">= 1 per phase")
        self.require("phase_lr", all(lr >= 0 for lr in o.phase_lr), ">= 0 per phase")
        self.require("kd_ratio", o.kd_ratio >= 0, ">= 0")
        self.schedule = PhaseSchedule(PHASES, o.phase_epochs, self.total_steps)
        self._index = {name: i for i, name in enumerate(PHASES)}
        self._allowed = self._phase_options()

    def _phase_options(self) -> dict[str, dict]:
        """The values each elastic dimension may take in each phase (unlisted: all options)."""
        opts = {c.key: c.options for c in self.space.choices}
        biggest = {k: [v[-1]] for k, v in opts.items()}
        top2 = {k: list(v[-2:]) for k, v in opts.items()}
        fixed_ed = {k: biggest[k] for k in ("e", "d") if k in opts}
        return {
            "full": biggest,
            "kernel": fixed_ed,
            "depth-1": {**({"e": biggest["e"]} if "e" in opts else {}), **({"d": top2["d"]} if "d" in opts else {})},
            "depth-2": {"e": biggest["e"]} if "e" in opts else {},
            "expand-1": {"e": top2["e"]} if "e" in opts else {},
            "expand-2": {},
        }

    def phase(self, step: int) -> str:
        return self.schedule.phase(step)

    def needs_teacher(self) -> bool:
        return self.options.kd_ratio > 0

    def actions(self, step: int) -> list[tuple]:
        i = self.schedule.index(step)
        if step != self.schedule.starts[i]:
            return []
        name = self.schedule.names[i]
        out: list[tuple] = [(RESET_OPTIMIZER,)] if i > 0 else []  # once-for-all runs each phase afresh
        if name != "full" and self.needs_teacher() and (i == 0 or self.schedule.names[i - 1] == "full"):
            out.append((SNAPSHOT_TEACHER,))
        if name.startswith("expand"):
            out.append((REORGANIZE, int(name[-1]) - 1))  # stage 0: plain sort; 1: keep the e=4 group
        return out

    def plan(self, step: int, rng: np.random.Generator) -> list[SubnetTask]:
        name = self.phase(step)
        if name == "full":
            return [SubnetTask(max_arch(self.space), "max")]
        n = self.options.subnets_per_step[self._index[name]]
        kd = self.options.kd_ratio
        return [SubnetTask(arch, "sampled", 1.0, kd, "full" if kd > 0 else None)
                for arch in sample_archs(self.space, rng, n, self._allowed[name])]

    def lr_factor(self, step: int) -> float:
        i = self._index[self.phase(step)]
        t, length = self.schedule.progress(step)
        o = self.options
        warmup = int(round(length * o.phase_warmup_epochs[i] / o.phase_epochs[i])) if o.phase_epochs[i] else 0
        return o.phase_lr[i] * cosine_factor(t, length, warmup)
