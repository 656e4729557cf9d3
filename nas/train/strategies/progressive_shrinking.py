"""once-for-all's progressive shrinking (Cai et al., ICLR 2020; ``train_ofa_net.py``).

Phases, in order: ``full`` (the largest network alone, on labels), then one or two phases per
dimension in the order the space declares (``search_spaces.elastic.ShrinkingOrder``; OFA-MobileNetV3:
``kernel``, ``depth-1``/``depth-2``, ``expand-1``/``expand-2``; OFA-ResNet50: depth, expand, width).
A two-phase dimension first samples its two largest options, then all of them; dimensions later in
the order stay at their largest option, earlier ones sample all options, and choices the order does
not list (the input resolution) are elastic in every shrinking phase, as in once-for-all. Every
shrinking phase distills from the frozen full network (soft-target cross-entropy, ``kd_ratio`` 1.0)
on top of the label loss, runs several subnets per step with accumulated gradients (the space's
per-dimension dynamic batch size), and each phase runs its own cosine schedule. Before each phase
of a dimension that declares it, channels are re-sorted by importance, keeping the channel groups of
the larger options intact (once-for-all's ``re_organize_middle_weights``).

Per-phase defaults are once-for-all's ImageNet schedule used as proportions of ``--epochs`` (full
network 180 epochs; a one-phase dimension 120; a two-phase one 25 + 120) and learning rates relative
to the kernel phase (3e-2 -> ``--lr``; 2.5e-3 and 7.5e-3 -> 1/12 and 1/4 of it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search_spaces import ShrinkingOrder, ShrinkStage

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

__all__ = ["ProgressiveShrinking", "phase_plan"]

_PER_PHASE = ("phase_epochs", "phase_lr", "phase_warmup_epochs", "subnets_per_step")


@dataclass(frozen=True)
class ProgressiveShrinkingOptions:
    # one value per phase (full, then the space's shrinking phases); empty: once-for-all's defaults
    phase_epochs: tuple = ()  # proportions of the schedule
    phase_lr: tuple = ()  # x --lr
    phase_warmup_epochs: tuple = ()  # in the units of phase_epochs
    subnets_per_step: tuple = ()  # once-for-all's dynamic_batch_size
    kd_ratio: float = 1.0


def phase_plan(order: tuple[ShrinkStage, ...]) -> list[dict]:
    """Per phase: name, stage index (-1 for full), phase within the stage, and once-for-all's defaults."""
    plan = [{"name": "full", "stage": -1, "step": 0, "epochs": 180.0, "lr": 1.0, "warmup": 5.0, "subnets": 1}]
    for i, stage in enumerate(order):
        for j, name in enumerate(stage.phase_names()):
            first_of_two = stage.phases == 2 and j == 0
            plan.append({"name": name, "stage": i, "step": j, "epochs": 25.0 if first_of_two else 120.0,
                         "lr": 1 / 12 if first_of_two else (0.25 if stage.phases == 2 else 1.0),
                         "warmup": 0.0 if first_of_two else 5.0, "subnets": stage.subnets_per_step})
    return plan


@register_strategy("progressive-shrinking")
class ProgressiveShrinking(Strategy):
    Options = ProgressiveShrinkingOptions
    summary = "once-for-all: full net, then the space's elastic dimensions one at a time, in the order the " \
              "space declares, KD from the full net"

    def validate(self) -> None:
        if not isinstance(self.space, ShrinkingOrder):
            raise self.unsupported("the space declares no shrinking order (search_spaces.elastic)")
        self.order = self.space.shrink_order
        self.plan_info = phase_plan(self.order)
        names = [p["name"] for p in self.plan_info]
        defaults = {"phase_epochs": "epochs", "phase_lr": "lr", "phase_warmup_epochs": "warmup",
                    "subnets_per_step": "subnets"}
        values = {}
        for option, field in defaults.items():
            given = getattr(self.options, option)
            self.require(option, not given or len(given) == len(names),
                         f"{len(names)} values, one per phase ({', '.join(names)})")
            values[option] = tuple(given) if given else tuple(p[field] for p in self.plan_info)
        self.phase_epochs, self.phase_lr = values["phase_epochs"], values["phase_lr"]
        self.phase_warmup, self.subnets = values["phase_warmup_epochs"], values["subnets_per_step"]
        self.require("phase_epochs", all(w >= 0 for w in self.phase_epochs) and sum(self.phase_epochs) > 0,
                     ">= 0 with a positive sum")
        self.require("subnets_per_step", all(n >= 1 and float(n).is_integer() for n in self.subnets),
                     "a whole number >= 1 per phase")
        self.require("phase_lr", all(lr >= 0 for lr in self.phase_lr), ">= 0 per phase")
        self.require("phase_warmup_epochs", all(w >= 0 for w in self.phase_warmup), ">= 0 per phase")
        self.require("kd_ratio", self.options.kd_ratio >= 0, ">= 0")
        self.schedule = PhaseSchedule(names, self.phase_epochs, self.total_steps)
        self._index = {name: i for i, name in enumerate(names)}
        self._allowed = {p["name"]: self._phase_options(p) for p in self.plan_info}

    def _phase_options(self, phase: dict) -> dict[str, list]:
        """The values each choice may take in ``phase`` (unlisted: all options)."""
        opts = {c.key: sorted(c.options) for c in self.space.choices}
        largest = {k: [v[-1]] for k, v in opts.items()}
        if phase["stage"] < 0:
            return largest
        allowed = {}
        for i, stage in enumerate(self.order):
            if stage.key not in opts:
                continue
            if i > phase["stage"]:
                allowed[stage.key] = largest[stage.key]
            elif i == phase["stage"] and stage.phases == 2 and phase["step"] == 0:
                allowed[stage.key] = opts[stage.key][-2:]
        return allowed

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
        info = self.plan_info[self._index[name]]
        if info["stage"] >= 0 and self.order[info["stage"]].sort_channels:
            # stage 0: a plain sort; 1: keep the group of the largest option apart (once-for-all)
            out.append((REORGANIZE, self.order[info["stage"]].key, info["step"]))
        return out

    def plan(self, step: int, rng: np.random.Generator) -> list[SubnetTask]:
        name = self.phase(step)
        if name == "full":
            return [SubnetTask(max_arch(self.space), "max")]
        n = int(self.subnets[self._index[name]])
        kd = self.options.kd_ratio
        return [SubnetTask(arch, "sampled", 1.0, kd, "full" if kd > 0 else None)
                for arch in sample_archs(self.space, rng, n, self._allowed[name])]

    def lr_factor(self, step: int) -> float:
        i = self._index[self.phase(step)]
        t, length = self.schedule.progress(step)
        epochs = self.phase_epochs[i]
        warmup = int(round(length * self.phase_warmup[i] / epochs)) if epochs else 0
        return self.phase_lr[i] * cosine_factor(t, length, warmup)
