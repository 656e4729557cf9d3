"""Training tests run single-threaded: deterministic, and fast on a shared 2-core machine."""

from __future__ import annotations

import pytest

from tests.threads import torch_threads

TINY = "synthetic:n_train=72,n_test=16,classes=10,size=32,seed=0"
QUICK = {"batch_size": 8, "steps_per_epoch": 2, "eval_every": 0}


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield
