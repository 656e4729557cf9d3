"""Evaluation tests share one tiny trained supernet and run single-threaded (deterministic, fast on 2 cores)."""

from __future__ import annotations

import pytest

from nas.train import train
from tests.threads import torch_threads

DATA = "synthetic:n_train=72,n_test=24,classes=10,size=32,seed=1"


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="package")
def checkpoint(tmp_path_factory):
    """A sandwich-trained ofa-mbv3-cifar checkpoint (1 epoch of 2 steps on DATA)."""
    with torch_threads(1):
        run = train("ofa-mbv3-cifar", "sandwich", DATA, epochs=1, out=tmp_path_factory.mktemp("run") / "r",
                    batch_size=8, steps_per_epoch=2, eval_every=0, holdout=12)
    return run.checkpoint
