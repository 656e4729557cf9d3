"""The cost of a training step: our loop (``spos``, ``balanced-mixture``) against a plain torch loop over
the same static ResNet20, in the same run.

Baseline: a hand-written loop over the static ResNet20 (the default placement [4, 3, 3], as ``extract``
builds it): index a batch, augment and normalize it with the same functions, forward, backward, SGD step.
Against it, ``nas train`` on ``resnet20-pooling[pool=4-3-3]`` (one placement, so every variant runs the
same network) with ``spos`` (the engine's loop and supernet) and ``balanced-mixture`` M=4, whose step
adds one held-out forward to score its member: on a training batch (BMS) and on 32 images. Variants
alternate for ``--rounds`` rounds; images/s are medians. Goal: mixture step <= 1.15x a plain step.

Run: python benchmarks/bms_step.py [--steps 20] [--rounds 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("NAS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "images" / \
    "cifar10_subset_5k_1k_uint8.npz"
RESULT = ROOT / "benchmarks" / "results" / "bms_step.json"
SPACE = "resnet20-pooling[pool=4-3-3]"
BATCH = 128


def plain_loop(steps: int) -> float:
    """Images/s of a hand-written loop over the static ResNet20 (data prepared as the engine does)."""
    import torch
    import torch.nn.functional as F

    from nas.data import augment, channel_stats, load_images, normalize
    from search_spaces import get_space
    from supernets.static import StaticNet

    space = get_space(SPACE)
    arch = space.extremes()[0]
    torch.manual_seed(0)
    net = StaticNet(space.layers(arch), space.input_shape(arch)).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    data = load_images(DATA)
    x, y = data.x_train, data.y_train
    mean, std = channel_stats(x)
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(y)))
    start = time.perf_counter()
    for s in range(steps):
        idx = order[s * BATCH:(s + 1) * BATCH]
        images = normalize(augment(x[idx], torch.Generator().manual_seed(s)), mean, std)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(images), y[idx]).backward()
        opt.step()
    return steps * BATCH / (time.perf_counter() - start)


def engine_loop(strategy: str, options: dict, steps: int) -> float:
    from nas.train import train

    with tempfile.TemporaryDirectory() as tmp:
        result = train(SPACE, strategy, DATA, epochs=1, out=Path(tmp) / "run", batch_size=BATCH,
                       steps_per_epoch=steps, eval_every=0, strategy_options=options)
        return float(result.metrics["images_per_s"].iloc[-1])


VARIANTS = {
    "plain torch loop": lambda steps: plain_loop(steps),
    "spos": lambda steps: engine_loop("spos", {}, steps),
    "balanced-mixture M=4, score 128 (BMS)": lambda steps: engine_loop("balanced-mixture", {"members": 4}, steps),
    "balanced-mixture M=4, score 32": lambda steps: engine_loop("balanced-mixture", {"members": 4,
                                                                                      "score_images": 32}, steps),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    if not DATA.is_file():
        print(f"needs {DATA}; skipped")
        return
    import torch

    torch.set_num_threads(args.threads)
    start, load = time.perf_counter(), [os.getloadavg()[0]]
    speeds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, run in VARIANTS.items():
            speeds[name].append(run(args.steps))
            print(f"{name}: {speeds[name][-1]:.0f} img/s", flush=True)
    load.append(os.getloadavg()[0])
    base = statistics.median(speeds["plain torch loop"])
    out = {"benchmark": "bms_step", "space": SPACE, "batch_size": BATCH, "steps": args.steps, "rounds": args.rounds,
           "threads": args.threads, "device": platform.processor() or platform.machine(),
           "goal": "mixture step <= 1.15x a plain step",
           "images_per_s": {k: round(statistics.median(v), 1) for k, v in speeds.items()},
           "step_time_vs_plain": {k: round(base / statistics.median(v), 3) for k, v in speeds.items()},
           "runs": speeds, "elapsed_s": round(time.perf_counter() - start, 1), "load_avg_start_end": load,
           "date": time.strftime("%Y-%m-%d")}
    RESULT.write_text(json.dumps(out, indent=1))
    for k, v in out["step_time_vs_plain"].items():
        print(f"{k}: {out['images_per_s'][k]} img/s, step {v}x plain")


if __name__ == "__main__":
    main()
