"""A training run's settings (JSON-able, stored in the run directory and in every checkpoint) and the
data it trains on: the fit / held-out split of the training images and their normalization."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any, Mapping

import torch

from search_spaces import Structured, get_space
from search_spaces.checks import check_seed
from search_spaces.errors import InvalidInput

from ..data import SPLIT_SEED, ImageData, channel_stats, holdout_split, load_images
from ..data.augment import PAD_MODES, Mixing
from .strategies import STRATEGIES

__all__ = ["TrainConfig", "TrainData", "prepare_data", "steps_per_epoch", "OPTIMIZERS", "MAX_EPOCHS", "MAX_LR"]

OPTIMIZERS = ("sgd", "adamw")
#: most epochs of one run (once-for-all's whole progressive shrinking is under 1,000): 10**12 never ends
MAX_EPOCHS = 100_000
#: largest base learning rate: SGD and AdamW diverge far below it (once-for-all uses 0.08 at batch 2048),
#: and 1e300 overflows float32 in the first step, after the run directory was written
MAX_LR = 10.0


@dataclass
class TrainConfig:
    """Everything that determines a run's result. Defaults: once-for-all's optimizer (SGD, Nesterov
    momentum 0.9, weight decay 3e-5 except BN and biases, label smoothing 0.1). ``optimizer`` "adamw"
    uses betas (momentum, 0.999) and decoupled weight decay (DeiT's recipe: lr 5e-4 x batch/512, wd 0.05)."""

    space: str
    strategy: str
    data: str
    epochs: int
    batch_size: int = 64  # global batch: split evenly over the workers
    lr: float = 0.05
    optimizer: str = "sgd"
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 3e-5
    label_smoothing: float = 0.1
    seed: int = 0
    strategy_options: dict = field(default_factory=dict)
    holdout: float = 0.1  # share (or count) of the training images held out for evaluation
    split_seed: int = SPLIT_SEED
    steps_per_epoch: int | None = None  # cap on optimizer steps per epoch (quick runs)
    eval_every: int = 1  # evaluate the max and min subnets every N epochs (0: never)
    eval_images: int = 1000  # held-out images per evaluation (0: all)
    bn_images: int = 500  # images for BN recalibration before each evaluation
    init: str | None = None  # checkpoint with initial weights (ours or once-for-all's)
    arch: dict | None = None  # the one subnet a strategy that trains a fixed subnet (standalone) trains
    #: ``create_supernet`` keywords of the space's supernet (``supernets.build_keywords`` lists them)
    supernet_options: dict = field(default_factory=dict)
    mixup: float = 0.0  # mixup's Beta alpha (0: off; DeiT 0.8): soft targets mixed over the global batch
    cutmix: float = 0.0  # cutmix's Beta alpha (0: off; DeiT 1.0)
    mixup_switch_prob: float = 0.5  # with both on, the chance that a batch uses cutmix instead of mixup
    pad_mode: str = "zeros"  # what the random crop's shift uncovers: zeros (the usual recipe) or reflect

    def __post_init__(self):
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, Integral) or not 1 <= self.epochs <= MAX_EPOCHS:
            raise InvalidInput(f"--epochs must be a whole number from 1 to {MAX_EPOCHS}, got {self.epochs!r}")
        if self.batch_size < 1:
            raise InvalidInput(f"--batch-size must be >= 1, got {self.batch_size}")
        for name, ok, allowed in (("lr", 0 < self.lr <= MAX_LR, f"a number in (0, {MAX_LR:g}]"),
                                  ("weight_decay", 0 <= self.weight_decay < math.inf, "a finite number >= 0"),
                                  ("momentum", 0 <= self.momentum < math.inf, "a finite number >= 0"),
                                  ("label_smoothing", 0 <= self.label_smoothing < 1, "in [0, 1)"),
                                  ("mixup", 0 <= self.mixup < math.inf, "a finite number >= 0"),
                                  ("cutmix", 0 <= self.cutmix < math.inf, "a finite number >= 0"),
                                  ("mixup_switch_prob", 0 <= self.mixup_switch_prob <= 1, "in [0, 1]")):
            if not ok:  # NaN fails every comparison, so it lands here too
                raise InvalidInput(f"--{name.replace('_', '-')} must be {allowed}, got {getattr(self, name)}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise InvalidInput(f"steps per epoch must be >= 1, got {self.steps_per_epoch}")
        if min(self.eval_every, self.eval_images, self.bn_images) < 0:
            raise InvalidInput("eval_every, eval_images and bn_images must be >= 0")
        if self.pad_mode not in PAD_MODES:
            raise InvalidInput(f"--pad-mode {self.pad_mode!r} is not known; allowed: {', '.join(PAD_MODES)}")
        if self.optimizer not in OPTIMIZERS:
            raise InvalidInput(f"--optimizer {self.optimizer!r} is not known; allowed: {', '.join(OPTIMIZERS)}")
        if self.optimizer == "adamw" and not self.momentum < 1:
            raise InvalidInput(f"--momentum is AdamW's beta1 and must be < 1, got {self.momentum}")
        check_seed(self.seed)
        if not (0 < self.holdout < 1 or (self.holdout >= 1 and float(self.holdout).is_integer())):
            raise InvalidInput(f"--holdout is a share in (0, 1) or a whole number of images >= 1, got {self.holdout}")
        strategy = STRATEGIES.get(self.strategy)  # unknown names list the known ones
        self.strategy_options = strategy.resolve_options(self.strategy_options or {}, self.batch_size)
        space = get_space(self.space)
        check_supernet_options(space, self.supernet_options)
        if self.arch is not None:
            self.arch = space.validate(self.arch)

    @property
    def mixing(self) -> Mixing:
        return Mixing(mixup=self.mixup, cutmix=self.cutmix, switch_prob=self.mixup_switch_prob)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def for_strategy(cls, strategy: str, **given: Any) -> "TrainConfig":
        """A config where what ``given`` leaves out comes from the strategy's paper, then our defaults."""
        return cls(strategy=strategy, **{**STRATEGIES.get(strategy).config_defaults, **given})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class TrainData:
    x_fit: torch.Tensor  # uint8 [N, 3, H, W]: images the optimizer sees
    y_fit: torch.Tensor
    x_holdout: torch.Tensor  # uint8: BN recalibration draws from x_fit, evaluation from these
    y_holdout: torch.Tensor
    mean: list[float]
    std: list[float]
    source: ImageData

    @property
    def n_fit(self) -> int:
        return len(self.y_fit)


def prepare_data(cfg: TrainConfig, data: ImageData | None = None) -> TrainData:
    """Load and check the images, split off the held-out set, compute normalization statistics."""
    data = load_images(cfg.data) if data is None else data
    space = get_space(cfg.space)
    if isinstance(space, Structured):
        data.check_labels(space.n_classes, f"space {space.name}")
    fit, held = holdout_split(len(data.y_train), cfg.holdout, cfg.split_seed)
    x_fit = data.x_train[torch.from_numpy(fit)]
    mean, std = channel_stats(x_fit)
    return TrainData(x_fit, data.y_train[torch.from_numpy(fit)], data.x_train[torch.from_numpy(held)],
                     data.y_train[torch.from_numpy(held)], mean, std, data)


def steps_per_epoch(cfg: TrainConfig, n_fit: int, world_size: int = 1) -> int:
    if cfg.batch_size % world_size:
        raise InvalidInput(f"--batch-size {cfg.batch_size} must be divisible by the {world_size} workers")
    if cfg.batch_size > n_fit:
        raise InvalidInput(f"--batch-size {cfg.batch_size} exceeds the {n_fit} training images left after the "
                           "held-out split")
    steps = n_fit // cfg.batch_size
    return min(steps, cfg.steps_per_epoch) if cfg.steps_per_epoch else steps


def check_supernet_options(space, options: Mapping[str, Any]) -> None:
    """Refuse (one line) a ``create_supernet`` keyword the space's supernet factory does not take, and a value
    that builds another space's network (``supernets.check_build_options`` names that space)."""
    from supernets import build_keywords, check_build_options

    if not options:
        return
    allowed = build_keywords(space)
    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise InvalidInput(f"supernet option {unknown[0]!r} is not known for space {space.name}; "
                           f"known: {', '.join(allowed) or 'none'}")
    for key, value in options.items():
        if isinstance(allowed[key], bool) and not isinstance(value, bool):
            raise InvalidInput(f"supernet option {key}={value!r} must be true or false")
        if isinstance(allowed[key], (int, float)) and not isinstance(allowed[key], bool) and (
                isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InvalidInput(f"supernet option {key}={value!r} must be a number (default {allowed[key]})")
    check_build_options(space, options)
