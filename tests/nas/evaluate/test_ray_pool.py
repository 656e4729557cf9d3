"""Measuring subnets on Ray actors: the same values as one process, whatever actor dies and whenever."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from nas import api
from nas.errors import InvalidInput
from nas.evaluate import evaluate_checkpoint
from nas.evaluate.meter import LocalMeter, MeterSpec
from nas.evaluate.ray_pool import RayMeter
from search_spaces import get_space

from .conftest import DATA

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

N_ARCHS = 6


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def spec(checkpoint):
    return MeterSpec(str(checkpoint), DATA, bn_images=16)


@pytest.fixture(scope="module")
def archs():
    space = get_space("ofa-mbv3-cifar")
    return space.decode_many(space.sample(N_ARCHS, np.random.default_rng(5)))


@pytest.fixture(scope="module")
def expected(spec, archs):
    from tests.threads import torch_threads

    with torch_threads(1):  # an actor runs one thread
        return LocalMeter(spec).measure(archs)


def test_one_and_two_actors_measure_what_one_process_does(ray_cluster, spec, archs, expected):
    for workers in (1, 2):
        meter = RayMeter(spec, workers)
        try:
            assert meter.stats["startup_s"] > 0 and len(meter.actors) == workers
            np.testing.assert_array_equal(meter.measure(archs), expected)
        finally:
            meter.close()
    assert ray.is_initialized()  # the pool leaves a Ray it did not start running


def test_an_actor_dead_before_its_tasks_loses_nothing(ray_cluster, spec, archs, expected):
    meter = RayMeter(spec, 2)
    try:
        ray.kill(meter.actors[0], no_restart=True)  # every task it is handed fails
        seen = []
        np.testing.assert_array_equal(meter.measure(archs, on_done=lambda k, acc: seen.append(k)), expected)
        assert seen == list(range(1, N_ARCHS + 1))  # each subnet recorded once
        assert meter.stats["lost_actors"] == 1 and meter.stats["requeued"] >= 1
        assert len(meter.actors) == 2  # a replacement started
    finally:
        meter.close()


def test_an_actor_killed_mid_evaluation_loses_nothing(ray_cluster, spec, archs, expected):
    meter = RayMeter(spec, 2, max_restarts=0)
    seen = []

    def kill_after_first(k: int, acc: float) -> None:
        seen.append(k)
        if k == 1:  # whatever the actor is doing at that moment
            ray.kill(meter.actors[-1], no_restart=True)

    try:
        np.testing.assert_array_equal(meter.measure(archs, on_done=kill_after_first), expected)
        assert seen == list(range(1, N_ARCHS + 1))
    finally:
        meter.close()


def test_losing_every_actor_is_an_error_not_a_hang(ray_cluster, spec, archs):
    meter = RayMeter(spec, 1, max_restarts=0)
    try:
        ray.kill(meter.actors[0], no_restart=True)
        with pytest.raises(RuntimeError, match="lost all its actors"):
            meter.measure(archs)
    finally:
        meter.close()


def test_search_and_evaluate_write_the_same_files_on_two_workers_as_in_process(ray_cluster, checkpoint, tmp_path):
    runs = {}  # in process (one thread, as each actor runs) and on 2 actors; 1 actor = 2 is checked above
    for workers in (None, 2):
        out = tmp_path / f"w{workers}"
        api.search(target="macs", checkpoint=checkpoint, data=DATA, measure_options={"bn_images": 16}, budget=6,
                   seed=3, searcher="linas", searcher_options={"inner_evals": 100}, out=out, workers=workers)
        config = json.loads((out / "config.json").read_text())
        config.pop("created")
        runs[workers] = ((out / "results.csv").read_bytes(), (out / "pareto.csv").read_bytes(), config)
        evaluate_checkpoint(checkpoint, DATA, sample=4, bn_images=16, seed=1, out=tmp_path / f"e{workers}.csv",
                            workers=workers)
    assert runs[None] == runs[2]
    assert (tmp_path / "eNone.csv").read_bytes() == (tmp_path / "e2.csv").read_bytes()


def test_worker_options_are_checked_before_ray_starts(checkpoint):
    with pytest.raises(InvalidInput, match="--workers must be"):
        evaluate_checkpoint(checkpoint, DATA, sample=1, workers=0)
    with pytest.raises(InvalidInput, match="this machine has"):
        evaluate_checkpoint(checkpoint, DATA, sample=1, workers=250)
    with pytest.raises(InvalidInput, match="pass --workers K too"):
        evaluate_checkpoint(checkpoint, DATA, sample=1, ray_address="127.0.0.1:1")
    with pytest.raises(InvalidInput, match="cannot reach the Ray cluster"):
        evaluate_checkpoint(checkpoint, DATA, sample=1, workers=1, ray_address="127.0.0.1:1")
    with pytest.raises(InvalidInput, match="only for accuracy measured"):
        api.search(target="macs", workers=2, budget=2)


def test_without_workers_nothing_of_ray_is_imported(checkpoint):
    code = ("import sys; from nas.evaluate import evaluate_checkpoint; "
            f"evaluate_checkpoint({str(checkpoint)!r}, {DATA!r}, sample=1, bn_images=8); "
            "assert 'ray' not in sys.modules, 'ray was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
