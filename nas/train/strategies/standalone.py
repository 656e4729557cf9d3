"""Stand-alone training of one fixed subnet: the step every deployment ends with (once-for-all
fine-tunes its specialized subnets for 25-75 epochs; BMS ranks supernets against stand-alone runs).

Every step trains ``--arch`` on labels, inside the supernet (only that subnet's weights move), with
a cosine learning-rate schedule and a short linear warm-up; from ``--init``/``--checkpoint`` it is a
fine-tune (from a mixture's checkpoint, of the member the arch is assigned to). Export the result
with ``nas export --checkpoint RUN/supernet.pt --arch ARCH.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Strategy, SubnetTask, cosine_factor, register_strategy

__all__ = ["Standalone"]


@dataclass(frozen=True)
class StandaloneOptions:
    lr_warmup: float = 0.0  # linear learning-rate warm-up share


@register_strategy("standalone")
class Standalone(Strategy):
    Options = StandaloneOptions
    summary = "one fixed subnet (--arch) on labels: stand-alone training or fine-tuning"
    takes_arch = True

    def validate(self) -> None:
        self.require("lr_warmup", 0 <= self.options.lr_warmup < 1, "in [0, 1)")

    def phase(self, step: int) -> str:
        return "standalone"

    def plan(self, step: int, rng: np.random.Generator) -> list[SubnetTask]:
        return [SubnetTask(self.arch, "sampled")]

    def lr_factor(self, step: int) -> float:
        return cosine_factor(step, self.total_steps, int(round(self.options.lr_warmup * self.total_steps)))
