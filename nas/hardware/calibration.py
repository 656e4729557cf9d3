"""End-to-end calibration of a profiled table: ``latency = scale * sum(op entries) + offset``.

Ops timed one at a time never see exactly the cache state of a whole network (the profiler's cache
flush approximates it), so a few subnets are timed end to end and a two-parameter correction is
fitted on them (weighted to minimize relative error). The raw entries stay as measured; the
correction lives in ``metadata["calibration"]`` and ``LatencyModel`` applies it.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Callable

import numpy as np

from search_spaces import SearchSpace
from search_spaces.errors import InvalidInput

from .fit import error_report
from .model import LatencyModel
from .table import LatencyTable, read_table

__all__ = ["fit_calibration", "calibrate_table", "CALIBRATION_SEED"]

#: calibration subnets come from their own seed, so ``nas latency validate`` (seed 0) checks others
CALIBRATION_SEED = 20_240_601


def fit_calibration(predicted: np.ndarray, measured: np.ndarray) -> tuple[float, float]:
    """(scale, offset ms) minimizing sum(((scale * p + offset) / m - 1)^2)."""
    A = np.stack([predicted / measured, 1.0 / measured], axis=1)
    (scale, offset), *_ = np.linalg.lstsq(A, np.ones_like(measured), rcond=None)
    if not np.isfinite(scale) or scale <= 0 or np.any(scale * predicted + offset <= 0):
        # the subnets' sums do not track their end-to-end times (e.g. a GPU whose whole-network time is
        # bound by kernel dispatch): fall back to a pure scale
        ratio = predicted / measured
        scale, offset = float(ratio.sum() / (ratio**2).sum()), 0.0
    if not np.isfinite(scale) or scale <= 0:
        raise InvalidInput(f"end-to-end calibration failed (scale {scale:.3g}); the timings are too noisy")
    return float(scale), float(offset)


def calibrate_table(path: str | Path, space: SearchSpace, subnets: int = 20, seed: int = CALIBRATION_SEED,
                    progress: Callable[[int], None] | None = None, passes: int = 2) -> LatencyTable:
    """Time ``subnets`` random subnets end to end with the table's own settings (the fastest of ``passes``
    passes, so that a burst of background load does not bend the correction); store the correction."""
    from .validate import measure_subnets

    if subnets < 3:
        raise InvalidInput("calibration needs at least 3 subnets (--calibrate N)")
    table = read_table(path)
    meta = table.metadata
    raw = LatencyTable(table.rows, {k: v for k, v in meta.items() if k != "calibration"}, table.origin)
    genomes = space.sample(subnets, np.random.default_rng(seed))
    predicted = LatencyModel(raw, space).predict(genomes)
    device = meta.get("torch_device", "cpu")
    measured, _ = measure_subnets(space, genomes, device=device, runtime=meta["runtime"], batch=int(meta["batch_size"]),
                                  threads=meta.get("threads"), warmup=int(meta.get("warmup", 10)),
                                  repeats=int(meta.get("repeats", 30)), flush_mb=meta.get("flush_mb"),
                                  passes=passes, progress=progress)
    scale, offset = fit_calibration(predicted, measured)
    raw.metadata["calibration"] = {
        "scale": scale, "offset_ms": offset, "subnets": subnets, "seed": seed, "space": space.name, "passes": passes,
        "before": error_report(predicted, measured),
        "after_in_sample": error_report(scale * predicted + offset, measured),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    raw.save(path)
    return read_table(path)
