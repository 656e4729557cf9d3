"""End-to-end timing: passes keep each subnet's fastest; large weights are timed in child processes (frozen
TorchScript modules would otherwise stay in memory until the process ends)."""

from __future__ import annotations

import numpy as np
import pytest

from nas.hardware import validate
from search_spaces import get_space
from search_spaces.errors import InvalidInput

FAST = {"warmup": 0, "repeats": 2, "flush_mb": 0.0}


def test_passes_keep_the_fastest_and_children_time_like_this_process(monkeypatch):
    space = get_space("ofa-mbv3[ks=3,e=3,d=2,r=128]")
    genomes = np.zeros((2, space.n_genes), dtype=np.int64)
    seen = []
    ms, settings = validate.measure_subnets(space, genomes, passes=3, progress=seen.append, **FAST)
    assert settings["passes"] == 3 and sum(seen) == 6 and np.all((ms > 0) & np.isfinite(ms))
    monkeypatch.setattr(validate, "ISOLATE_BYTES", 1)  # every subnet in a child of its own
    children, _ = validate.measure_subnets(space, genomes, **FAST)
    assert np.all((children > 0) & np.isfinite(children))
    with pytest.raises(InvalidInput, match="--passes must be a whole number >= 1"):
        validate.measure_subnets(space, genomes, passes=0, **FAST)
