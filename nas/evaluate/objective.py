"""Measured accuracy as a search objective: a trained supernet checkpoint + data -> ``Objective``.

Each distinct subnet (by canonical genome) is measured once: extract, recalibrate BN, top-1 on the
evaluation split; repeats come from a cache. The objective is flagged ``expensive`` so that
predictor-in-the-loop searchers call it sparingly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from search_spaces import SearchSpace, Structured, family_of, get_space
from search_spaces.errors import InvalidInput
from supernets.checkpoint import load_supernet

from ..search.objectives import Objective
from .accuracy import evaluate_archs
from .evalset import build_evalset

__all__ = ["measured_accuracy_objective"]


def measured_accuracy_objective(checkpoint: str | Path, data: str | Path, *, space: str | SearchSpace | None = None,
                                split: str = "holdout", bn_images: int = 2000, eval_images: int | None = None,
                                batch_size: int = 256, device: str = "cpu",
                                on_measured: Callable[[int, float], None] | None = None) -> Objective:
    """Objective "accuracy" (max, %, expensive) measuring subnets of ``checkpoint``'s supernet on ``data``.

    ``space`` may be the checkpoint's space or a restriction of it (e.g. ``ofa-mbv3-cifar[r=32]``);
    genomes passed to the objective are in that space. ``split`` is "holdout" (the images training
    held out; the default, so that search never sees test labels) or "test".
    """
    base = None if space is None else family_of(space if isinstance(space, str) else space.name)
    supernet, meta = load_supernet(checkpoint, base)
    supernet = supernet.to(device).eval()
    space_obj = supernet.space if space is None else (get_space(space) if isinstance(space, str) else space)
    if space_obj.family != supernet.space.family:
        raise InvalidInput(f"checkpoint {checkpoint} holds a supernet for {supernet.space.name}, not {space_obj.name}")
    evalset = build_evalset(data, meta=meta, split=split, bn_images=bn_images, eval_images=eval_images,
                            n_classes=supernet.space.n_classes if isinstance(supernet.space, Structured) else None)
    cache: dict[bytes, float] = {}

    def measure(genomes: np.ndarray) -> np.ndarray:
        genomes = space_obj.check_genomes(genomes)
        keys = [k.tobytes() for k in space_obj.keys_of(genomes)]
        todo = {k: i for i, k in enumerate(keys) if k not in cache}
        if todo:
            archs = space_obj.decode_many(genomes[list(todo.values())])
            values = evaluate_archs(supernet, archs, evalset, bn_images, batch_size, on_done=on_measured)
            cache.update(zip(todo, values.tolist()))
        return np.array([cache[k] for k in keys], dtype=np.float64)

    return Objective("accuracy", measure, "max", "%", expensive=True,
                     source=f"measured: {Path(checkpoint).name} on {evalset.description}",
                     metadata={"space": space_obj.name, "checkpoint": str(Path(checkpoint).resolve()),
                               "data": str(data), "split": split,
                               "bn_images": bn_images, "eval_images": len(evalset.labels)})
