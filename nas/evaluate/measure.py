"""``evaluate_checkpoint``: measure chosen or sampled subnets of a trained supernet, optionally writing
a predictor dataset. The Python API behind ``nas evaluate``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from search_spaces import family_of, get_space
from search_spaces.errors import InvalidInput

from ..quantize.policy import require_fp32
from .dataset import dataset_paths, predictor_dataset, write_predictor_dataset
from .meter import MeterSpec, open_meter, resolved

__all__ = ["EvaluationResult", "evaluate_checkpoint"]


MAX_SAMPLE = 100_000


@dataclass
class EvaluationResult:
    space: str
    table: pd.DataFrame  # results-CSV rows: arch_id, accuracy, macs, params, genome, config
    evalset: str
    elapsed_s: float
    files: dict[str, Path] = field(default_factory=dict)


def evaluate_checkpoint(checkpoint: str | Path, data: str | Path, *, archs: Sequence[Mapping] = (), sample: int = 0,
                        extremes: bool = False, space: str | None = None, split: str = "holdout",
                        bn_images: int = 2000, eval_images: int | None = None, seed: int = 0,
                        out: str | Path | None = None, device: str = "cpu", batch_size: int = 256,
                        workers: int | None = None, ray_address: str | None = None,
                        on_done: Callable[[int, int, float], None] | None = None) -> EvaluationResult:
    """Recalibrate BN and measure top-1 of ``archs``, ``sample`` distinct random subnets (seeded) and,
    with ``extremes``, the largest and smallest; with ``out`` write them as a predictor dataset.
    ``workers`` measures on that many Ray actors (``ray_address``: a cluster); the results are the same."""
    start = time.perf_counter()
    if not 0 <= sample <= MAX_SAMPLE:  # each subnet is recalibrated and evaluated: seconds apiece
        raise InvalidInput(f"--sample must be between 0 and {MAX_SAMPLE:,} subnets, got {sample}")
    if out is not None:
        dataset_paths(out)  # a bad name fails now, not after the measuring
    if not (archs or sample or extremes):
        raise InvalidInput("nothing to evaluate: pass --arch FILE, --sample N or --extremes")
    if ray_address is not None and workers is None:
        raise InvalidInput("--ray-address says where the --workers run: pass --workers K too")
    base = family_of(space) if space else None
    spec = MeterSpec(resolved(checkpoint), resolved(data), base, split, bn_images, eval_images, batch_size, device)
    space_obj = get_space(space) if space else None
    meter = None
    try:
        meter = open_meter(spec, workers, ray_address)
        space_obj = space_obj or meter.space
        genomes = [space_obj.encode(require_fp32(space_obj, a)) for a in archs]  # bits need S+q
        if extremes:
            genomes += [space_obj.encode(a) for a in space_obj.extremes()]
        if sample:
            genomes += list(_distinct_sample(space_obj, sample, seed))
        genomes = np.stack(genomes).astype(np.int64)
        keep = np.unique(space_obj.keys_of(genomes), return_index=True)[1]
        genomes = genomes[np.sort(keep)]  # each network once, in the order given
        total = len(genomes)
        accuracy = meter.measure(space_obj.decode_many(genomes),
                                 on_done=(lambda k, acc: on_done(k, total, acc)) if on_done else None)
        description = meter.description
    finally:
        if meter is not None:
            meter.close()
    table = predictor_dataset(space_obj, genomes, accuracy)
    result = EvaluationResult(space_obj.name, table, description, time.perf_counter() - start)
    if out is not None:
        result.files = write_predictor_dataset(out, space_obj, genomes, accuracy, {
            "checkpoint": str(Path(checkpoint).resolve()), "data": str(data), "split": split,
            "bn_images": bn_images, "evaluated_on": description, "seed": seed})
    return result


def _distinct_sample(space, n: int, seed: int) -> np.ndarray:
    """``n`` random subnets that are distinct networks (canonical genomes), as the space allows."""
    rng = np.random.default_rng(seed)
    found: dict[bytes, np.ndarray] = {}
    for _ in range(100):
        batch = space.sample(2 * n, rng)
        for key, genome in zip(space.keys_of(batch), batch):
            found.setdefault(key.tobytes(), genome)
            if len(found) == n:
                return np.stack(list(found.values()))
    return np.stack(list(found.values()))
