"""Measuring subnets on K Ray actors, each holding the supernet and its images once.

Tasks are single subnets, handed out in the order of their input size (an actor keeps the images
prepared at one size) with at most ``depth`` in flight per actor; results are placed by index, so
the output does not depend on which actor measured what or when. An actor that dies loses only
its in-flight subnets: they go back to the front of the queue, and a replacement actor starts
(up to ``max_restarts`` in all). A subnet's accuracy is a deterministic function of the checkpoint,
the images and the actor's thread count (one per actor unless asked), so 1 and K actors agree.
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Callable, Mapping, Sequence

import numpy as np

from search_spaces.errors import InvalidInput

from ..ray_cluster import check_workers, connect_ray
from .meter import LocalMeter, MeterSpec

__all__ = ["RayMeter"]


class _MeterActor:
    """Runs in a Ray actor process: a ``LocalMeter`` built from the spec."""

    def __init__(self, spec: dict, threads: int):
        import torch

        torch.set_num_threads(threads)
        self.meter = LocalMeter(MeterSpec(**spec))

    def ready(self) -> int:
        return os.getpid()

    def measure(self, index: int, arch: dict) -> tuple[int, float]:
        return index, float(self.meter.measure([arch])[0])


class RayMeter:
    """``LocalMeter``'s interface (space, description, measure, close) over ``workers`` Ray actors."""

    def __init__(self, spec: MeterSpec, workers: int, *, address: str | None = None, cpus_per_worker: int = 1,
                 max_restarts: int | None = None, depth: int = 2):
        check_workers(workers, address, cpus_per_worker)
        self.spec = spec
        # the driver's own copy checks the checkpoint and data before Ray starts (errors in one line)
        # and knows each arch's input size; it measures nothing
        self._local = LocalMeter(spec)
        self.workers, self.cpus_per_worker, self.depth = workers, cpus_per_worker, depth
        self.restarts_left = workers if max_restarts is None else max_restarts
        self.stats = {"lost_actors": 0, "requeued": 0, "startup_s": 0.0}
        self.actors: list = []
        self._started = connect_ray(workers * cpus_per_worker, address)
        import ray

        have = ray.cluster_resources().get("CPU", 0)
        if have < workers * cpus_per_worker:  # the actors would wait for CPUs forever
            self.close()
            raise InvalidInput(f"--workers {workers} needs {workers * cpus_per_worker} CPUs and the Ray cluster has "
                               f"{have:g}; pass at most {int(have // cpus_per_worker)}")
        self._remote = ray.remote(num_cpus=cpus_per_worker)(_MeterActor)
        try:
            t0 = time.perf_counter()
            new = [self._spawn() for _ in range(workers)]
            self._await_ready(new)
            self.stats["startup_s"] = time.perf_counter() - t0
        except BaseException:
            self.close()
            raise

    space = property(lambda self: self._local.space)
    description = property(lambda self: self._local.description)
    n_eval_images = property(lambda self: self._local.n_eval_images)

    def _spawn(self):
        actor = self._remote.remote(self.spec.to_dict(), self.cpus_per_worker)
        self.actors.append(actor)
        return actor

    def _await_ready(self, actors: list) -> None:
        import ray

        try:
            ray.get([a.ready.remote() for a in actors])
        except ray.exceptions.RayError as exc:  # e.g. the data path does not exist on a cluster node
            raise RuntimeError(f"a Ray evaluation actor failed to start: {_first_line(exc)}") from exc

    def measure(self, archs: Sequence[Mapping], on_done: Callable[[int, float], None] | None = None) -> np.ndarray:
        """Top-1 (%) of each arch, in the order given, whichever actors measure them."""
        import ray

        archs = [self.space.validate(a) for a in archs]
        out = np.full(len(archs), np.nan)
        queue = deque(sorted(range(len(archs)), key=lambda i: self._local.input_size(archs[i])))
        inflight: dict = {}  # ObjectRef -> (actor, index)
        done = 0
        while queue or inflight:
            self._fill(queue, inflight, archs)
            ref = ray.wait(list(inflight), num_returns=1)[0][0]
            actor, index = inflight.pop(ref)
            try:
                _, value = ray.get(ref)
            except ray.exceptions.RayActorError:
                self._lose(actor, index, queue, inflight)
                continue
            except ray.exceptions.RayTaskError as exc:  # the measurement itself failed: the same everywhere
                raise exc.as_instanceof_cause() from None
            out[index] = value
            done += 1
            if on_done is not None:
                on_done(done, value)
        return out

    def _fill(self, queue: deque, inflight: dict, archs: list) -> None:
        if not self.actors:
            raise RuntimeError(f"Ray evaluation lost all its actors ({self.stats['lost_actors']} died) "
                               f"with {len(queue)} subnets left")
        load = {id(a): 0 for a in self.actors}
        for actor, _ in inflight.values():
            load[id(actor)] += 1
        for actor in self.actors:
            while queue and load[id(actor)] < self.depth:
                index = queue.popleft()
                inflight[actor.measure.remote(index, dict(archs[index]))] = (actor, index)
                load[id(actor)] += 1

    def _lose(self, actor, index: int, queue: deque, inflight: dict) -> None:
        """An actor died: its in-flight subnets go back to the front of the queue; start a replacement."""
        lost = [index]
        for ref, (owner, i) in list(inflight.items()):
            if owner is actor:
                del inflight[ref]
                lost.append(i)
        queue.extendleft(reversed(lost))
        self.stats["requeued"] += len(lost)
        if any(a is actor for a in self.actors):
            self.actors = [a for a in self.actors if a is not actor]
            self.stats["lost_actors"] += 1
            if self.restarts_left > 0:
                self.restarts_left -= 1
                try:
                    self._await_ready([self._spawn()])
                except RuntimeError:
                    self.actors.pop()

    def close(self) -> None:
        import ray

        for actor in self.actors:
            try:
                ray.kill(actor)
            except Exception:  # already gone
                pass
        self.actors = []
        if self._started and ray.is_initialized():
            ray.shutdown()
            self._started = False


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc
    return next((ln for ln in str(cause).splitlines() if ln.strip()), type(cause).__name__)
