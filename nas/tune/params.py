"""What a sweep varies: ``--param 'name=kind(args)'`` parsed into Ray Tune search domains.

A name is a training setting (``lr``, ``optimizer``, ...) or an option of the swept strategy
(``shrink_start`` for deps). Kinds: ``uniform(lo,hi)``, ``loguniform(lo,hi)``, ``int(lo,hi)``
(both ends included), ``choice(a,b,...)``. Every parameter is checked at its bounds (or each of its
choices) against the same validation a training run applies, before any trial starts.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from search_spaces import get_space
from search_spaces.errors import InvalidInput

from ..train.config import TrainConfig
from ..train.strategies import STRATEGIES, create_strategy

__all__ = ["Param", "parse_param", "TRAIN_SETTINGS", "KINDS", "check_params", "split_trial_config"]

TRAIN_SETTINGS = ("lr", "optimizer", "momentum", "weight_decay", "label_smoothing", "batch_size")
KINDS = ("uniform", "loguniform", "int", "choice")
MAX_CHOICES = 64


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    args: tuple

    def domain(self):
        from ray import tune

        if self.kind == "uniform":
            return tune.uniform(*self.args)
        if self.kind == "loguniform":
            return tune.loguniform(*self.args)
        if self.kind == "int":
            return tune.randint(self.args[0], self.args[1] + 1)  # Tune's upper end is exclusive
        return tune.choice(list(self.args))

    def extremes(self) -> list:
        return list(self.args) if self.kind == "choice" else [self.args[0], self.args[1]]

    def __str__(self) -> str:
        return f"{self.name}={self.kind}({','.join(json.dumps(a) for a in self.args)})"


def parse_param(text: str) -> Param:
    """``name=kind(a,b,...)``; numbers and words as choice values (``choice(sgd,adamw)``)."""
    found = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*=\s*([a-z]+)\s*\((.*)\)\s*", text)
    if not found:
        raise InvalidInput(f"--param {text!r} must read name=kind(args) with kind one of {', '.join(KINDS)}, "
                           f"e.g. 'lr=loguniform(1e-3,0.1)'")
    name, kind, body = found.groups()
    if kind not in KINDS:
        raise InvalidInput(f"--param {name}: unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
    args = tuple(_value(a.strip()) for a in body.split(",")) if body.strip() else ()
    if kind == "choice":
        if not 1 <= len(args) <= MAX_CHOICES or len(set(map(str, args))) != len(args):
            raise InvalidInput(f"--param {name}: choice needs 1 to {MAX_CHOICES} distinct values, got {len(args)}")
        return Param(name, kind, args)
    if len(args) != 2 or not all(isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a)
                                 for a in args):
        raise InvalidInput(f"--param {name}: {kind} needs two finite numbers lo,hi, got {body!r}")
    lo, hi = args
    if not lo < hi:
        raise InvalidInput(f"--param {name}: {kind}({lo},{hi}) needs lo < hi")
    if kind == "loguniform" and lo <= 0:
        raise InvalidInput(f"--param {name}: loguniform needs lo > 0, got {lo}")
    if kind == "int":
        if not all(float(a).is_integer() for a in args):
            raise InvalidInput(f"--param {name}: int needs whole numbers, got {body!r}")
        args = (int(lo), int(hi))
    return Param(name, kind, tuple(float(a) for a in args) if kind != "int" else args)


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise InvalidInput(f"--param value {text[:20]!r}... is nested too deeply") from None
    except ValueError:
        return text  # a bare word: sgd, adamw


def split_trial_config(config: dict, strategy: str) -> tuple[dict, dict]:
    """A trial's sampled values as (training settings, strategy options)."""
    options = STRATEGIES.get(strategy).defaults()
    settings = {k: v for k, v in config.items() if k not in options}
    return settings, {k: v for k, v in config.items() if k in options}


def check_params(params: list[Param], base: dict) -> None:
    """Each parameter names something the strategy's runs take, and every bound or choice is a value
    that a run accepts (``base``: the sweep's fixed TrainConfig fields)."""
    if not params:
        raise InvalidInput("nothing to sweep: pass at least one --param, e.g. 'lr=loguniform(1e-3,0.1)'")
    strategy = base["strategy"]
    options = STRATEGIES.get(strategy).defaults()
    names = [p.name for p in params]
    repeated = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if repeated:
        raise InvalidInput(f"--param {repeated} is given twice")
    space = get_space(base["space"])
    for p in params:
        if p.name not in TRAIN_SETTINGS and p.name not in options:
            raise InvalidInput(f"--param {p.name}: not a setting of a {strategy} run; allowed: "
                               f"{', '.join(TRAIN_SETTINGS + tuple(options))}")
        if p.name in base.get("strategy_options", {}) or p.name in base.get("fixed", ()):
            raise InvalidInput(f"--param {p.name} is also fixed by another option; sweep it or fix it, not both")
        for value in p.extremes():
            settings, opts = split_trial_config({p.name: value}, strategy)
            fields = {k: v for k, v in base.items() if k != "fixed"}
            try:
                cfg = TrainConfig(**{**fields, **settings,
                                     "strategy_options": {**fields.get("strategy_options", {}), **opts}})
                create_strategy(strategy, space, cfg.epochs * 10, 10, cfg.arch, **cfg.strategy_options)
            except InvalidInput as exc:
                raise InvalidInput(f"--param {p}: {value!r} is not accepted ({exc})") from None
