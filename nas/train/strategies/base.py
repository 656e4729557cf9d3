"""The training-strategy contract and registry.

A strategy decides, for every optimizer step of a run, which subnets train and how (labels,
distillation, gradient scale), the learning-rate multiplier, and the named phase. It is a pure
function of the global step (plus a seeded generator for sampling), so a run resumed at any epoch
replays exactly what an uninterrupted run does. One-off actions (snapshot a teacher, re-sort
channels) are returned for the first step of a phase and carried out by the loop.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from search_spaces import Arch, Registry, SearchSpace
from search_spaces.errors import InvalidInput, NotSupported

__all__ = ["SubnetTask", "Strategy", "STRATEGIES", "register_strategy", "create_strategy", "list_strategies",
           "PhaseSchedule", "cosine_factor", "sample_archs", "max_arch", "min_arch", "SNAPSHOT_TEACHER",
           "REORGANIZE", "RESET_OPTIMIZER"]

SNAPSHOT_TEACHER = "snapshot-teacher"  # action: freeze a copy of the full network as the KD teacher
REORGANIZE = "reorganize-channels"  # action (with an expand stage): once-for-all's channel sorting
RESET_OPTIMIZER = "reset-optimizer"  # action: drop momentum (a new phase starts a fresh optimizer)


@dataclass(frozen=True)
class SubnetTask:
    """One forward/backward pass of a step: the subnet, its role and its loss terms.

    loss = grad_scale * (label_weight * CE(labels) + kd_weight * CE(soft targets of ``teacher``)),
    with ``teacher`` "inplace" (the detached output of the step's first task, the max subnet) or
    "full" (the frozen full-network teacher). Gradients of a step's tasks accumulate.

    A task with ``archs`` trains several subnets in one pass (ViT-ResNAS's multi-architecture sampling):
    the batch is split into ``len(archs)`` consecutive sub-batches of equal size, ``archs[i]`` trains on
    the i-th, and the loss is the mean over the whole batch; ``arch`` is ``archs[0]`` (the subnet older
    code, such as held-out scoring, sees).
    """

    arch: Arch
    role: str
    label_weight: float = 1.0
    kd_weight: float = 0.0
    teacher: str | None = None
    grad_scale: float = 1.0
    member: int | None = None  # a mixture's member to train (None: the one ``arch`` is assigned to)
    archs: tuple = ()  # several subnets, one per consecutive sub-batch (empty: ``arch`` on the whole batch)
    masks: bool = False  # a MultiArch supernet runs ``archs`` at the full width with per-sample masks

    def __post_init__(self):
        if self.archs:
            object.__setattr__(self, "archs", tuple(self.archs))
            if self.archs[0] != self.arch:
                raise ValueError("a multi-arch task's arch must be its first arch")

    @property
    def subnets(self) -> tuple:
        """The subnets the task trains, one per sub-batch (``(arch,)`` for a single-arch task)."""
        return self.archs or (self.arch,)


class Strategy(ABC):
    """Subclasses set ``name`` (by ``register_strategy``), ``Options`` (a dataclass of hyperparameters
    whose defaults are the papers') and implement ``phase``, ``plan`` and ``lr_factor``."""

    name: ClassVar[str] = ""
    Options: ClassVar[type]
    summary: ClassVar[str] = ""
    #: TrainConfig values of the strategy's paper, used where the user gives none (e.g. its learning rate)
    config_defaults: ClassVar[Mapping[str, Any]] = {}
    #: whether the strategy trains one fixed subnet, given as ``arch`` (else it samples its own)
    takes_arch: ClassVar[bool] = False

    def __init__(self, space: SearchSpace, total_steps: int, steps_per_epoch: int,
                 arch: Mapping[str, Any] | None = None, **options: Any):
        if total_steps < 1 or steps_per_epoch < 1:
            raise InvalidInput(f"strategy {self.name} needs at least one step (got {total_steps} steps)")
        if self.takes_arch and arch is None:
            raise InvalidInput(f"strategy {self.name} trains one fixed subnet: give it with --arch ARCH.json")
        if arch is not None and not self.takes_arch:
            fixed = ", ".join(n for n in STRATEGIES.names() if STRATEGIES.get(n).takes_arch)
            raise InvalidInput(f"strategy {self.name} samples its own subnets; --arch is for strategies that train "
                               f"one fixed subnet ({fixed})")
        self.space = space
        self.total_steps = total_steps
        self.steps_per_epoch = steps_per_epoch
        self.arch: Arch | None = space.validate(arch) if arch is not None else None
        self.options = parse_options(self.Options, options, self.name)
        self.validate()

    def validate(self) -> None:  # noqa: B027  (optional hook)
        """Check option values; raise ``InvalidInput`` naming the option (see ``require``)."""

    def unsupported(self, why: str) -> NotSupported:
        return NotSupported(f"strategy {self.name} cannot train space {self.space.name}: {why}")

    def require(self, option: str, ok: bool, allowed: str) -> None:
        """Raise the one-line error for option ``option`` unless ``ok``; ``allowed`` says what would be."""
        if not ok:
            value = getattr(self.options, option)
            raise InvalidInput(f"strategy {self.name} option {option}={value!r} must be {allowed}")

    @abstractmethod
    def phase(self, step: int) -> str:
        """Name of the phase that global step ``step`` belongs to."""

    @abstractmethod
    def plan(self, step: int, rng: np.random.Generator) -> list[SubnetTask]:
        """The passes of step ``step``; ``rng`` is seeded per step (and equal on every rank)."""

    @abstractmethod
    def lr_factor(self, step: int) -> float:
        """Multiplier of the base learning rate at ``step``."""

    def actions(self, step: int) -> list[tuple]:
        """One-off actions to run before ``step`` (e.g. ``(REORGANIZE, 1)``); default: none."""
        return []

    def needs_teacher(self) -> bool:
        return False

    def supernet_options(self) -> dict:
        """``create_supernet`` keywords of the supernet this strategy trains (e.g. a mixture's members)."""
        return {}

    def bind(self, supernet: Any) -> None:  # noqa: B027  (optional hook)
        """Called once the supernet is built (and restored): strategies whose choices depend on learned
        state that lives in the supernet (a mixture's scores) keep a reference."""

    def score_images(self, batch_size: int) -> int:
        """Held-out images the loop scores every task on after each step (``record``); 0: none."""
        return 0

    def record(self, step: int, task: SubnetTask, accuracy: float) -> None:  # noqa: B027  (optional hook)
        """A task's held-out accuracy (in [0, 1]) on one batch, measured after step ``step``'s update."""

    def scalars(self, step: int) -> dict[str, float]:
        """Extra per-step values worth logging (e.g. DεpS's epsilon)."""
        return {}

    def state_dict(self) -> dict:
        return {"name": self.name, "options": dataclasses.asdict(self.options)}

    @classmethod
    def resolve_options(cls, options: Mapping[str, Any], batch_size: int) -> dict:
        """The options a run with global batch ``batch_size`` uses, for defaults that depend on the batch
        (e.g. multi-arch's subnets per step); ``TrainConfig`` stores what this returns. Default: as given."""
        return dict(options)

    @classmethod
    def defaults(cls) -> dict:
        return {f.name: f.default for f in dataclasses.fields(cls.Options)}


def parse_options(options_cls: type, options: Mapping[str, Any], name: str):
    fields = {f.name: f for f in dataclasses.fields(options_cls)}
    unknown = [k for k in options if k not in fields]
    if unknown:
        raise InvalidInput(f"unknown option {unknown[0]!r} for strategy {name}; known: {', '.join(fields)}")
    values = {}
    for key, value in options.items():
        default = fields[key].default
        try:
            if isinstance(default, tuple):  # () takes a list of any length (e.g. one value per phase)
                if not isinstance(value, (list, tuple)) or (default and len(value) != len(default)):
                    raise TypeError
                value = tuple(_coerce(d, v) for d, v in zip(default or [0.0] * len(value), value))
            else:
                value = _coerce(default, value)
        except (TypeError, ValueError):
            if isinstance(default, tuple):
                shape = f"a list of {len(default)} finite numbers" if default else "a list of finite numbers"
            else:
                shapes = {bool: "true or false", int: "a whole number", str: "a word"}
                shape = shapes.get(type(default), "a finite number")
            shown = "one per phase, derived from the space" if default == () else default
            raise InvalidInput(f"strategy {name} option {key}={value!r} must be {shape} (default {shown})") from None
        values[key] = value
    return options_cls(**values)


def _coerce(default: Any, value: Any) -> Any:
    if isinstance(default, str):  # a named mode; the strategy's ``validate`` checks it is one it knows
        if not isinstance(value, str):
            raise TypeError
        return value
    if isinstance(default, bool) or isinstance(value, bool):
        if not (isinstance(default, bool) and isinstance(value, bool)):
            raise TypeError
        return value
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError
    if isinstance(default, int):
        if value != int(value):
            raise TypeError
        return int(value)
    return float(value)


# ------------------------------------------------------------------------------------ helpers
class PhaseSchedule:
    """Consecutive named phases that split ``total_steps`` in proportion to ``weights`` (each >= 1 step
    when there are enough steps; phases with weight 0 are skipped)."""

    def __init__(self, names: Sequence[str], weights: Sequence[float], total_steps: int):
        kept = [(n, w) for n, w in zip(names, weights) if w > 0]
        cum = np.cumsum([w for _, w in kept]) / sum(w for _, w in kept)
        ends = [int(round(c * total_steps)) for c in cum]
        if total_steps >= len(ends):  # give every phase a step when the budget allows it
            for i in range(len(ends)):
                floor = (ends[i - 1] if i else 0) + 1
                ends[i] = min(max(ends[i], floor), total_steps - (len(ends) - 1 - i))
        ends[-1] = total_steps
        starts = [0] + ends[:-1]
        runs = [(n, s, e) for (n, _), s, e in zip(kept, starts, ends) if e > s]  # too few steps: drop phases
        self.names = [n for n, _, _ in runs]
        self.starts = [s for _, s, _ in runs]
        self.ends = [e for _, _, e in runs]

    def index(self, step: int) -> int:
        return min(int(np.searchsorted(self.ends, step, side="right")), len(self.ends) - 1)

    def phase(self, step: int) -> str:
        return self.names[self.index(step)]

    def progress(self, step: int) -> tuple[int, int]:
        """(steps into the phase, phase length) at ``step``."""
        i = self.index(step)
        return step - self.starts[i], max(self.ends[i] - self.starts[i], 1)


def cosine_factor(t: int, length: int, warmup: int = 0) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay from 1 towards 0 over the rest."""
    if warmup > 0 and t < warmup:
        return (t + 1) / warmup
    span = max(length - warmup, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(t - warmup, span) / span))


def max_arch(space: SearchSpace) -> Arch:
    return space.validate(space.extremes()[0])


def min_arch(space: SearchSpace) -> Arch:
    return space.validate(space.extremes()[1])


def sample_archs(space: SearchSpace, rng: np.random.Generator, n: int,
                 allowed: Mapping[str, Sequence] | None = None) -> list[Arch]:
    """``n`` subnets, every gene uniform over its options, or over ``allowed[key]`` values where given."""
    genomes = space.sample(n, rng)
    for key, values in (allowed or {}).items():
        sl = space.gene_slices.get(key)
        if sl is None:
            continue
        options = space.choice(key).options
        idx = np.array([options.index(v) for v in values], dtype=np.int64)
        genomes[:, sl] = idx[rng.integers(0, len(idx), size=(n, sl.stop - sl.start))]
    return space.decode_many(genomes)


# ----------------------------------------------------------------------------------- registry
STRATEGIES: Registry[type[Strategy]] = Registry("training strategy", entry_point_group="nas.strategies")


def register_strategy(name: str):
    """Class decorator: registers a strategy (and sets ``cls.name``)."""
    return STRATEGIES.register_class(name)


def create_strategy(name: str, space: SearchSpace, total_steps: int, steps_per_epoch: int,
                    arch: Mapping[str, Any] | None = None, **options: Any) -> Strategy:
    return STRATEGIES.get(name)(space, total_steps, steps_per_epoch, arch, **options)


def list_strategies() -> list[str]:
    return STRATEGIES.names()
