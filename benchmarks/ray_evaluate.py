"""Measured evaluation on Ray actors vs in one process: subnets per second and start-up cost.

Baseline: ``LocalMeter`` in this process with 2 threads (all cores) and with 1 thread, timed in
the same run on the same subnets. Measured: subnets evaluated per second (extract, BN recalibration
on ``--bn-images``, top-1 on ``--eval-images`` held-out images) on 1 and 2 Ray actors of one
thread each, the start-up cost (Ray's start, then each actor loading the supernet and the images),
and whether every configuration gives the same accuracies (it must: the order is deterministic).

The supernet is ``ofa-mbv3-cifar`` trained for a few steps (its accuracy does not matter for speed).
Run: python benchmarks/ray_evaluate.py [--subnets 24] [--bn-images 500] [--eval-images 1000]
Uses ../shared/data/images/cifar10_subset_5k_1k_uint8.npz (synthetic data when absent).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("NAS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "images" / \
    "cifar10_subset_5k_1k_uint8.npz"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subnets", type=int, default=24)
    ap.add_argument("--bn-images", type=int, default=500)
    ap.add_argument("--eval-images", type=int, default=1000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ray_evaluate.json"))
    args = ap.parse_args()

    import ray
    import torch

    from nas.evaluate.meter import LocalMeter, MeterSpec
    from nas.evaluate.ray_pool import RayMeter
    from nas.train import train
    from search_spaces import get_space

    data = str(DATA) if DATA.is_file() else "synthetic:n_train=2000,n_test=1000,classes=10,size=32,seed=1"
    began = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="ray_evaluate_"))
    torch.set_num_threads(2)
    run = train("ofa-mbv3-cifar", "sandwich", data, epochs=1, out=tmp / "run", batch_size=32, steps_per_epoch=4,
                eval_every=0)
    spec = MeterSpec(str(run.checkpoint), data, bn_images=args.bn_images, eval_images=args.eval_images)
    space = get_space("ofa-mbv3-cifar")
    archs = space.decode_many(space.sample(args.subnets, np.random.default_rng(0)))
    report = {"benchmark": "ray_evaluate", "space": space.name, "data": Path(data).name, "subnets": args.subnets,
              "bn_images": args.bn_images, "eval_images": args.eval_images, "machine": platform.processor() or
              platform.machine(), "cpus": os.cpu_count(), "load_before": os.getloadavg()[0], "runs": {}}
    values = {}
    for threads in (2, 1):
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        meter = LocalMeter(spec)
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        values[f"process_{threads}t"] = meter.measure(archs)
        elapsed = time.perf_counter() - t0
        report["runs"][f"in process, {threads} thread(s)"] = {"subnets_per_s": args.subnets / elapsed,
                                                              "measure_s": elapsed, "load_s": load_s}
    torch.set_num_threads(2)
    for workers in (1, 2):
        t0 = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        ray_s = time.perf_counter() - t0
        meter = RayMeter(spec, workers)
        t0 = time.perf_counter()
        values[f"ray_{workers}"] = meter.measure(archs)
        elapsed = time.perf_counter() - t0
        report["runs"][f"Ray, {workers} actor(s)"] = {"subnets_per_s": args.subnets / elapsed, "measure_s": elapsed,
                                                      "ray_init_s": ray_s, "actors_start_s": meter.stats["startup_s"]}
        meter.close()
        ray.shutdown()
    runs = report["runs"]
    base = runs["in process, 2 thread(s)"]["subnets_per_s"]
    report["ratios"] = {name: r["subnets_per_s"] / base for name, r in runs.items()}
    report["two_actors_vs_one"] = runs["Ray, 2 actor(s)"]["subnets_per_s"] / runs["Ray, 1 actor(s)"]["subnets_per_s"]
    reference = values["ray_1"]
    report["same_accuracies"] = {name: bool(np.array_equal(v, reference)) for name, v in values.items()}
    report["load_after"] = os.getloadavg()[0]
    report["elapsed_s"] = time.perf_counter() - began
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({"ratios": report["ratios"], "two_actors_vs_one": report["two_actors_vs_one"],
                      "same": report["same_accuracies"],
                      "startup": {k: {kk: round(vv, 2) for kk, vv in r.items() if kk.endswith("_s")}
                                  for k, r in runs.items()}}, indent=1))


if __name__ == "__main__":
    main()
