"""Multi-architecture sampling with progressive unlocking (ViT-ResNAS, Liao et al., 2021; its
``nets/channel_drop.py`` and ``main.py``).

Every step trains ``archs_per_step`` subnets in one pass: the batch is split into that many consecutive
sub-batches of equal size and each subnet trains on its own (``SubnetTask.archs``; a ``MultiArch``
supernet runs them in one forward, any other supernet one forward-backward per sub-batch). In that one
forward, ``execution`` "sliced" (the default) runs each sub-batch on its own widths, so a step costs
about its subnets' MACs; "masks" runs the whole batch at the full width with per-sample channel, head
and block masks, as the reference does (one wide pass: the cost of the largest subnet).
The paper gives every subnet ``example_per_arch`` = 64 images, so by default the number of subnets is
the batch over 64, at least 1.

Choices are unlocked progressively during the first ``warmup_epochs`` of the run: at fraction f of the
warm-up, each choice may take only its ceil(f * n) largest of n options (at least its largest), so the
run starts on the largest subnet and reaches every option when the warm-up ends (a two-option choice,
such as keeping a removable block, admits its smaller option once f passes 1/2). Within a step, each
gene goes through every allowed option before it repeats one, in a seeded random order, so a step's
subnets cover the allowed options evenly (the reference repeats its list of allowed widths over the
sub-batches, permutes it and keeps as many as it has sub-batches, which is even in expectation).

"Largest" follows the space's own ``extremes()``: numeric options sort by value in the direction from
the smallest subnet's value to the largest's; other options keep the order the space lists them in,
read from the largest subnet's end, with the largest subnet's option first and the smallest's last.

The rest is DeiT's recipe (the reference trains with it): AdamW, lr 5e-4 x batch / 512, weight decay
0.05, label smoothing 0.1, a linear learning-rate warm-up of 5 of DeiT's 300 epochs, then cosine decay,
and mixup 0.8 / cutmix 1.0 with switch probability 0.5 (``TrainConfig.mixup``...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from search_spaces import SearchSpace
from search_spaces.errors import InvalidInput, NotSupported

from .base import Strategy, SubnetTask, cosine_factor, register_strategy

__all__ = ["MultiArchSampling", "largest_first", "EXAMPLE_PER_ARCH"]

EXAMPLE_PER_ARCH = 64  # the paper's sub-batch per subnet (scripts/vit-sr-nas/super_net/*.sh)
EXECUTIONS = ("sliced", "masks")


@dataclass(frozen=True)
class MultiArchOptions:
    archs_per_step: int = 0  # subnets per step (0: the batch over example_per_arch, at least 1)
    example_per_arch: int = EXAMPLE_PER_ARCH  # images per subnet when archs_per_step is 0
    warmup_epochs: float = 15 / 120  # progressive unlocking: a share (< 1) of the run, or a whole number of epochs
    lr_warmup: float = 5 / 300  # linear learning-rate warm-up share (DeiT: 5 of 300 epochs)
    execution: str = "sliced"  # "sliced": each sub-batch on its own widths; "masks": the full width, masked


def largest_first(space: SearchSpace) -> dict[str, tuple]:
    """Each varying choice's options ordered from the one the space's largest subnet takes to the one its
    smallest takes (``extremes()``): numeric options by value, others in the space's listed order."""
    try:
        largest, smallest = space.extremes()
    except NotSupported:
        largest = smallest = {}
    out = {}
    for c in space.choices:
        if not c.varies:
            continue
        hi, lo = (_value(c, d.get(c.key)) for d in (largest, smallest))
        numeric = all(isinstance(o, (int, float)) and not isinstance(o, bool) for o in c.options)
        if numeric:
            ascending = hi is not None and lo is not None and hi < lo
            out[c.key] = tuple(sorted(c.options, reverse=not ascending))
            continue
        opts = list(reversed(c.options)) if hi == c.options[-1] and hi != c.options[0] else list(c.options)
        if hi in opts:  # the largest subnet's option first, the smallest's last
            opts.insert(0, opts.pop(opts.index(hi)))
        if lo in opts and lo != hi:
            opts.append(opts.pop(opts.index(lo)))
        out[c.key] = tuple(opts)
    return out


def _value(choice, value: Any) -> Any:
    """The option ``value`` (an arch's entry for ``choice``) names: its first position's for a repeated
    choice; lists read as the tuples options are stored as; None where it names none."""
    if choice.count > 1 and isinstance(value, (list, tuple)) and value:
        value = value[0]
    if isinstance(value, list):
        value = tuple(value)
    return value if value in choice.options else None


@register_strategy("multi-arch")
class MultiArchSampling(Strategy):
    Options = MultiArchOptions
    summary = ("ViT-ResNAS multi-architecture sampling: several subnets per pass, one per sub-batch, choices "
               "unlocked from the largest option down during a warm-up; DeiT's AdamW recipe")
    config_defaults = {"optimizer": "adamw", "lr": 5e-4 * 64 / 512, "momentum": 0.9, "weight_decay": 0.05,
                       "label_smoothing": 0.1, "mixup": 0.8, "cutmix": 1.0, "mixup_switch_prob": 0.5}

    @classmethod
    def resolve_options(cls, options: Mapping[str, Any], batch_size: int) -> dict:
        """``archs_per_step`` 0 (or left out) -> the global batch over ``example_per_arch``, at least 1."""
        out = dict(options)
        per = out.get("example_per_arch", EXAMPLE_PER_ARCH)
        if not out.get("archs_per_step") and isinstance(per, int) and not isinstance(per, bool) and per >= 1:
            out["archs_per_step"] = max(1, batch_size // per)
        k = out.get("archs_per_step")
        if isinstance(k, int) and not isinstance(k, bool) and k > batch_size:  # sub-batches would be empty
            raise InvalidInput(f"strategy {cls.name} option archs_per_step={k} exceeds the batch of {batch_size} "
                               f"samples; allowed: 1..{batch_size} (or 0: the batch over example_per_arch)")
        return out

    def validate(self) -> None:
        o = self.options
        self.require("archs_per_step", o.archs_per_step >= 0, ">= 0 (0: the batch over example_per_arch)")
        self.require("example_per_arch", o.example_per_arch >= 1, ">= 1")
        self.require("warmup_epochs", 0 <= o.warmup_epochs < 1 or float(o.warmup_epochs).is_integer(),
                     "a share in [0, 1) or a whole number of epochs")
        self.require("lr_warmup", 0 <= o.lr_warmup < 1, "in [0, 1)")
        self.require("execution", o.execution in EXECUTIONS, " or ".join(map(repr, EXECUTIONS)))
        self.k = max(1, o.archs_per_step)  # 0 unresolved (no batch known): one subnet per step
        w = o.warmup_epochs
        steps = w * self.total_steps if w < 1 else w * self.steps_per_epoch
        self.warmup_steps = min(int(round(steps)), self.total_steps)
        self.order = largest_first(self.space)
        self._index = {key: np.array([self.space.choice(key).options.index(v) for v in opts], dtype=np.int64)
                       for key, opts in self.order.items() if key in self.space.gene_slices}

    def unlocked(self, step: int) -> float:
        """Fraction of the progressive unlocking reached at ``step`` (1: every option)."""
        if step >= self.warmup_steps:
            return 1.0
        return step / self.warmup_steps

    def allowed(self, step: int) -> dict[str, tuple]:
        """The options each varying choice may take at ``step``, largest first."""
        f = self.unlocked(step)
        return {key: opts[:max(1, math.ceil(f * len(opts)))] for key, opts in self.order.items()}

    def phase(self, step: int) -> str:
        return "warmup" if step < self.warmup_steps else "multi-arch"

    def plan(self, step: int, rng: np.random.Generator) -> list[SubnetTask]:
        archs = self.sample(step, rng)
        return [SubnetTask(archs[0], "sampled", archs=tuple(archs) if len(archs) > 1 else (),
                           masks=self.options.execution == "masks")]

    def sample(self, step: int, rng: np.random.Generator) -> list:
        """``archs_per_step`` subnets: per gene, the allowed options in turn, in a random order."""
        k, f = self.k, self.unlocked(step)
        genomes = self.space.sample(k, rng)
        for key, idx in self._index.items():
            m = max(1, math.ceil(f * len(idx)))
            sl = self.space.gene_slices[key]
            for j in range(sl.start, sl.stop):  # whole rounds of the allowed options, then part of one more
                pool = np.concatenate([rng.permutation(idx[:m]) for _ in range(-(-k // m))])[:k]
                genomes[:, j] = rng.permutation(pool)
        return self.space.decode_many(genomes)

    def lr_factor(self, step: int) -> float:
        return cosine_factor(step, self.total_steps, int(round(self.options.lr_warmup * self.total_steps)))
