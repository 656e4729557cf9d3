"""A meter: one trained supernet and the images it is measured on, loaded once, measuring subnets.

``LocalMeter`` measures in this process. ``open_meter(spec, workers=K)`` gives the same interface
over K Ray actors (``nas.evaluate.ray_pool``), each rebuilding its own meter from the ``MeterSpec``
(paths and options, nothing large), so that the supernet and data are loaded once per actor and
never shipped with a task.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from search_spaces import SearchSpace, Structured
from supernets.checkpoint import load_supernet

from .accuracy import evaluate_archs, subnet_transform
from .evalset import build_evalset

__all__ = ["MeterSpec", "LocalMeter", "open_meter"]


@dataclass(frozen=True)
class MeterSpec:
    """What a meter loads: everything is a path or a plain value, so that it travels to a Ray actor."""

    checkpoint: str
    data: str
    family: str | None = None  # the space family to read the checkpoint as (once-for-all files name none)
    split: str = "holdout"
    bn_images: int = 2000
    eval_images: int | None = None
    batch_size: int = 256
    device: str = "cpu"

    def to_dict(self) -> dict:
        return asdict(self)


class LocalMeter:
    """The supernet and its evaluation images in this process."""

    def __init__(self, spec: MeterSpec):
        self.spec = spec
        supernet, self.meta = load_supernet(spec.checkpoint, spec.family)
        self.supernet = supernet.to(spec.device).eval()
        # an overlay family (S+q): the checkpoint's supernet is S's, each subnet is transformed after extraction
        self.transform = subnet_transform(spec.family)
        space = self.supernet.space
        self.evalset = build_evalset(spec.data, meta=self.meta, split=spec.split, bn_images=spec.bn_images,
                                     eval_images=spec.eval_images,
                                     n_classes=space.n_classes if isinstance(space, Structured) else None)

    @property
    def space(self) -> SearchSpace:
        """The space of the archs measured (an overlay's, e.g. S+q, when the family names one)."""
        return self.transform.space if self.transform is not None else self.supernet.space

    def input_size(self, arch: Mapping) -> tuple[int, int]:
        return self.supernet.input_size(self.transform.base_arch(arch) if self.transform is not None else arch)

    @property
    def description(self) -> str:
        return self.evalset.description

    @property
    def n_eval_images(self) -> int:
        return len(self.evalset.labels)

    def measure(self, archs: Sequence[Mapping], on_done: Callable[[int, float], None] | None = None) -> np.ndarray:
        """Top-1 (%) of each arch, in the order given; ``on_done(k, accuracy)`` after each."""
        return evaluate_archs(self.supernet, archs, self.evalset, self.spec.bn_images, self.spec.batch_size,
                              on_done=on_done, transform=self.transform)

    def close(self) -> None:
        pass


def open_meter(spec: MeterSpec, workers: int | None = None, ray_address: str | None = None):
    """A ``LocalMeter``, or with ``workers`` a ``RayMeter`` over that many actors (Ray starts only then)."""
    if workers is None:
        return LocalMeter(spec)
    from .ray_pool import RayMeter

    return RayMeter(spec, workers, address=ray_address)


def resolved(path: str | Path) -> str:
    """A path as the actors should open it (absolute: they may not share the driver's directory)."""
    text = str(path)
    return str(Path(text).resolve()) if Path(text).exists() else text
