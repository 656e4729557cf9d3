"""Fixtures for the hardware tests: a tiny space that profiles in about a second, synthetic tables,
an isolated cache folder and fast profiler settings."""

from __future__ import annotations

import numpy as np
import pytest

from nas.hardware import local
from nas.hardware.table import LatencyTable
from search_spaces import get_space

TINY = "ofa-mbv3[ks=3,e=3,d=2,r=128]"  # 16 distinct ops


def synthetic_table(space, fusion: str = "block", seed: int = 0, **meta) -> LatencyTable:
    """Random positive latencies for every op of ``space``."""
    rng = np.random.default_rng(seed)
    ops = space.structure(fusion).unique_ops().values()
    rows = [op.as_row() | {"latency_ms": float(rng.uniform(0.01, 2.0)), "spread_ms": 0.0, "count": 1} for op in ops]
    metadata = {"kind": "measured", "device": "test", "runtime": "torchscript", "batch_size": 1, "dtype": "float32",
                "source": "synthetic", "fusion": fusion, "spaces": [space.family]} | meta
    return LatencyTable(rows, metadata, origin="synthetic table")


@pytest.fixture
def tiny_space():
    return get_space(TINY)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def fast_cpu(monkeypatch, cache):
    """The cpu target with a few repeats and a 3-subnet calibration, cached under tmp."""
    monkeypatch.setitem(local.CPU_SETTINGS, "warmup", 1)
    monkeypatch.setitem(local.CPU_SETTINGS, "repeats", 3)
    monkeypatch.setitem(local.CPU_SETTINGS, "calibrate", 3)
    return local.CPU_SETTINGS
