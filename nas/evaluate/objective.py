"""Measured accuracy as a search objective: a trained supernet checkpoint + data -> ``Objective``.

Each distinct subnet (by canonical genome) is measured once: extract, recalibrate BN, top-1 on the
evaluation split; repeats come from a cache. The objective is flagged ``expensive`` so that
predictor-in-the-loop searchers call it sparingly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from search_spaces import SearchSpace, family_of, get_space
from search_spaces.errors import InvalidInput

from ..search.objectives import Objective
from .meter import MeterSpec, open_meter, resolved

__all__ = ["measured_accuracy_objective"]


def measured_accuracy_objective(checkpoint: str | Path, data: str | Path, *, space: str | SearchSpace | None = None,
                                split: str = "holdout", bn_images: int = 2000, eval_images: int | None = None,
                                batch_size: int = 256, device: str = "cpu", workers: int | None = None,
                                ray_address: str | None = None,
                                on_measured: Callable[[int, float], None] | None = None) -> Objective:
    """Objective "accuracy" (max, %, expensive) measuring subnets of ``checkpoint``'s supernet on ``data``.

    ``space`` may be the checkpoint's space or a restriction of it (e.g. ``ofa-mbv3-cifar[r=32]``);
    genomes passed to the objective are in that space. ``split`` is "holdout" (the images training
    held out; the default, so that search never sees test labels) or "test". With ``workers``, the
    subnets of each call are measured on that many Ray actors (``ray_address``: a cluster, else a
    local Ray); the values are the same. Call the objective's ``release()`` when done.
    """
    base = None if space is None else family_of(space if isinstance(space, str) else space.name)
    spec = MeterSpec(resolved(checkpoint), resolved(data), base, split, bn_images, eval_images, batch_size, device)
    meter = open_meter(spec, workers, ray_address)
    try:
        space_obj = meter.space if space is None else (get_space(space) if isinstance(space, str) else space)
        if space_obj.family != meter.space.family:
            raise InvalidInput(f"checkpoint {checkpoint} holds a supernet for {meter.space.name}, "
                               f"not {space_obj.name}")
    except BaseException:
        meter.close()
        raise
    cache: dict[bytes, float] = {}

    def measure(genomes: np.ndarray) -> np.ndarray:
        genomes = space_obj.check_genomes(genomes)
        keys = [k.tobytes() for k in space_obj.keys_of(genomes)]
        todo = {k: i for i, k in enumerate(keys) if k not in cache}
        if todo:
            values = meter.measure(space_obj.decode_many(genomes[list(todo.values())]), on_done=on_measured)
            cache.update(zip(todo, values.tolist()))
        return np.array([cache[k] for k in keys], dtype=np.float64)

    return Objective("accuracy", measure, "max", "%", expensive=True,
                     source=f"measured: {Path(checkpoint).name} on {meter.description}",
                     metadata={"space": space_obj.name, "checkpoint": str(Path(checkpoint).resolve()),
                               "data": str(data), "split": split,
                               "bn_images": bn_images, "eval_images": meter.n_eval_images},
                     release=meter.close)
