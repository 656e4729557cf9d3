"""Reaching Ray: check a cluster address before ``ray.init`` (which retries for minutes), start a quiet
local instance otherwise, and size what is asked against what the cluster has."""

from __future__ import annotations

import logging
import os
import socket

from search_spaces.errors import InvalidInput

from .errors import RayUnavailable

__all__ = ["check_ray_address", "check_workers", "connect_ray", "MAX_WORKERS"]

MAX_WORKERS = 256  # each worker holds a whole supernet and its data: more is a typo, not a cluster


def check_ray_address(address: str) -> None:
    """Fail fast on a cluster address that cannot be reached."""
    if address in ("auto", "local"):
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise InvalidInput(f"--ray-address must be 'local', 'auto', HOST:PORT or ray://HOST:PORT; got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise InvalidInput(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start it with "
                           f"`ray start --head` or pass --ray-address local") from None


def check_workers(workers: int, address: str | None, cpus_per_worker: int = 1) -> None:
    """``--workers`` within 1..MAX_WORKERS, and on a local Ray within this machine's CPUs."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise InvalidInput(f"--workers must be a whole number from 1 to {MAX_WORKERS}, got {workers!r}")
    cpus = os.cpu_count() or 1
    if address in (None, "", "local") and workers * cpus_per_worker > cpus:
        raise InvalidInput(f"--workers {workers} needs {workers * cpus_per_worker} CPUs and this machine has {cpus}; "
                           f"pass at most {max(1, cpus // cpus_per_worker)}, or --ray-address for a cluster")
    if address not in (None, "", "local"):
        check_ray_address(address)


def connect_ray(num_cpus: int, address: str | None = None, num_gpus: int | None = None,
                log_to_driver: bool = False) -> bool:
    """Initialize Ray unless it already is: a local instance of ``num_cpus`` or the cluster at ``address``.
    Returns whether this call started it (then the caller shuts it down)."""
    import ray

    if ray.is_initialized():
        return False
    quiet = {"logging_level": logging.ERROR, "log_to_driver": log_to_driver}
    local = address in (None, "", "local")
    if not local:
        check_ray_address(address)
    try:
        if local:
            ray.init(num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False, **quiet)
        else:
            ray.init(address=address, **quiet)
    except Exception as exc:  # Ray raises bare Exceptions (a raylet timing out on a loaded machine)
        ray.shutdown()  # stop what it half started
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].split(". ")[0].rstrip(".")
        where = "a local Ray" if local else f"Ray at {address}"
        raise RayUnavailable(f"{where} did not start ({reason}); retry when this machine is less loaded") from None
    return True
