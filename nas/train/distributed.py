"""The training loop on a Ray cluster: Ray Train's ``TorchTrainer`` (V2 API), one process per worker,
DistributedDataParallel over gloo (CPU) or NCCL (GPU).

Every rank builds the same supernet from the same seed and samples the same subnet at every step
(the loop seeds each step); DDP runs with ``find_unused_parameters`` because a subnet leaves the
rest of the supernet without gradients. Rank 0 writes the run directory and hands its checkpoint
to Ray with each per-epoch ``report`` (every rank reports once per epoch); with ``FailureConfig``
Ray restarts the worker group from the last reported checkpoint when a worker dies. A multi-node
cluster needs the run directory on storage that every node sees (as Ray's ``storage_path`` does).
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from ..io import write_json
from ..ray_cluster import check_ray_address, connect_ray
from .config import TrainConfig
from .loop import DistContext, RunFiles, TrainingLoop

__all__ = ["train_with_ray", "ray_worker", "check_ray_address"]


def ray_worker(config: dict) -> None:
    """``train_loop_per_worker``: runs on every Ray Train worker."""
    import ray.train
    import ray.train.torch
    import torch

    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    torch.set_num_threads(config["threads"])
    files = RunFiles(config["run_dir"])
    device = ray.train.torch.get_device()

    def report(metrics: dict, checkpoint_dir: Path | None) -> None:
        checkpoint = ray.train.Checkpoint.from_directory(str(checkpoint_dir)) if checkpoint_dir else None
        ray.train.report(metrics, checkpoint=checkpoint)

    def wrap(model):
        return ray.train.torch.prepare_model(model, parallel_strategy_kwargs={"find_unused_parameters": True})

    def run(restore: Path | None) -> None:
        ctx = DistContext(rank, world, str(device), wrap, report, restore)
        log = (lambda line: print(f"[nas train] {line}", flush=True)) if rank == 0 else None
        loop = TrainingLoop(TrainConfig.from_dict(config["config"]), files.root, ctx, log=log)
        write_json(files.root / "workers" / f"rank{rank}.json",  # who trains, and from which epoch
                   {"rank": rank, "world_size": world, "pid": os.getpid(), "host": socket.gethostname(),
                    "device": str(device), "start_epoch": loop.start_epoch, "started": time.time()})
        loop.run()

    checkpoint = ray.train.get_checkpoint()  # set when Ray restarts the group after a failure
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            run(Path(folder) / Path(RunFiles.CHECKPOINT).name)
    else:
        run(files.checkpoint if config["resume"] and files.checkpoint.is_file() else None)


def train_with_ray(cfg: TrainConfig, run_dir: Path, *, workers: int, address: str | None = None,
                   use_gpu: bool = False, resume: bool = False, max_failures: int = 2,
                   cpus_per_worker: int = 1) -> None:
    """Run the loop on ``workers`` Ray Train workers; starts (and stops) a local Ray instance unless
    Ray is already initialized or ``address`` names a cluster."""
    import ray
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    # the workers' lines ("[nas train] epoch ...") are the run's progress: show them
    started = connect_ray(workers * cpus_per_worker, address, num_gpus=workers if use_gpu else None,
                          log_to_driver=True)
    try:
        resources = {"CPU": cpus_per_worker, **({"GPU": 1} if use_gpu else {})}
        trainer = TorchTrainer(
            ray_worker,
            train_loop_config={"config": cfg.to_dict(), "run_dir": str(Path(run_dir).resolve()), "resume": resume,
                               "threads": cpus_per_worker},
            scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu, resources_per_worker=resources),
            torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
            run_config=RunConfig(name="ray", storage_path=str(Path(run_dir).resolve()),
                                 failure_config=FailureConfig(max_failures=max_failures),
                                 checkpoint_config=CheckpointConfig(num_to_keep=1)),
        )
        try:
            result = trainer.fit()
        except Exception as exc:  # Ray wraps worker errors; keep the first line users can act on
            text = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
            raise RuntimeError(f"Ray training failed (after up to {max_failures} restarts): {text}") from exc
        if getattr(result, "error", None) is not None:
            raise RuntimeError(f"Ray training failed: {result.error}")
    finally:
        if started:
            ray.shutdown()
