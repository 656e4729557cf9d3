"""ViT-ResNAS on the CPU: the cost of multi-architecture sampling, and of the supernet against its extracted ViT.

1. Training steps on ``vit-resnas-cifar`` at one total batch B (forward + backward + AdamW update), each timed
   in the same run and interleaved (the baseline is the single-arch step):
   * ``multi``: one step of K archs, each on B/K samples (one forward-backward; the default execution: one
     shared stem, then each sub-batch on its own sliced widths);
   * ``multi_masks``: the same step with per-sample masks at the full width (the reference's execution);
   * ``single``: one step of one arch on all B samples (sliced: only that arch's widths compute);
   * ``single_max``: one step of the largest subnet on all B samples (the widths the masked batch computes);
   * ``sequential``: K forward-backwards of one arch each on all B samples, one update (what a
     sandwich-style loop does to train K subnets).
   Goals: multi / single <= 1.15; per subnet trained, sequential / multi >= 3 (i.e. (seq/K) / (multi/K)).
2. Forward (eval, no grad) of the supernet with one subnet active (sliced weights) and with that subnet
   given as per-sample masks (``set_active_many``), each against the extracted static ViT, at batch 1 and 32.
   Goals: supernet / static <= 1.10 at batch 1 and <= 1.03 at batch 32.

Archs are drawn uniformly (fixed seed); each number is the median over rounds, the headline the median over
draws. Threads fixed (default 1) so that background load moves every path alike.

Run: python benchmarks/vit_multi_arch.py [--batch 128] [--k 4] [--draws 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from supernet_overhead import time_pair  # noqa: E402

from search_spaces import get_space  # noqa: E402
from supernets import create_supernet  # noqa: E402

SPACE = "vit-resnas-cifar"


def uptime() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def step_fns(net, archs, x, y, k: int) -> dict:
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    share = len(x) // k

    def update(loss_fn):
        def run():
            opt.zero_grad(set_to_none=True)
            loss_fn()
            opt.step()
        return run

    def multi():
        net.set_active_many(archs, [share] * k)
        F.cross_entropy(net(x), y).backward()

    def multi_masks():
        net.set_active_many(archs, [share] * k, masks=True)
        F.cross_entropy(net(x), y).backward()

    def single():
        net.set_active(archs[0])
        F.cross_entropy(net(x), y).backward()

    def single_max():
        net.set_max()
        F.cross_entropy(net(x), y).backward()

    def sequential():
        for arch in archs:
            net.set_active(arch)
            (F.cross_entropy(net(x), y) / k).backward()

    return {"multi": update(multi), "multi_masks": update(multi_masks), "single": update(single),
            "single_max": update(single_max), "sequential": update(sequential)}


def forward_fns(net, arch, batch: int) -> dict:
    static = net.extract(arch).eval()
    x = torch.randn(batch, 3, 32, 32)

    def sliced():
        net.set_active(arch)
        with torch.no_grad():
            net(x)

    def masked():
        net.set_active_many([arch], [batch], masks=True)
        with torch.no_grad():
            net(x)

    def extracted():
        with torch.no_grad():
            static(x)

    return {"supernet": sliced, "supernet_masked": masked, "static": extracted}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--draws", type=int, default=5, help="random arch sets (steps) and archs (forward)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-round-s", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).with_name("results") / "vit_multi_arch.json"))
    args = ap.parse_args()
    if args.batch % args.k:
        sys.exit(f"--batch {args.batch} must be divisible by --k {args.k}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    start, load_before = time.time(), uptime()
    space = get_space(SPACE)
    rng = np.random.default_rng(0)
    net = create_supernet(space, drop_path=0.0)

    steps = []
    net.train()
    for d in range(args.draws):
        archs = space.decode_many(space.sample(args.k, rng))
        x, y = torch.randn(args.batch, 3, 32, 32), torch.randint(0, space.n_classes, (args.batch,))
        t = time_pair(step_fns(net, archs, x, y, args.k), args.rounds, args.min_round_s, "cpu")
        steps.append({"draw": d, "ms": {m: round(v * 1e3, 2) for m, v in t.items()},
                      "multi_over_single": t["multi"] / t["single"],
                      "multi_over_single_max": t["multi"] / t["single_max"],
                      "sequential_over_multi": t["sequential"] / t["multi"],
                      "multi_masks_over_single": t["multi_masks"] / t["single"],
                      "sequential_over_multi_masks": t["sequential"] / t["multi_masks"]})
        print(f"step draw {d}: " + ", ".join(f"{m} {v * 1e3:.0f} ms" for m, v in t.items()), flush=True)

    forwards = {}
    net.eval()
    for batch in (1, 32):
        rows = []
        for d, arch in enumerate(space.decode_many(space.sample(args.draws, rng))):
            t = time_pair(forward_fns(net, arch, batch), args.rounds, args.min_round_s, "cpu")
            rows.append({"draw": d, "ms": {m: round(v * 1e3, 3) for m, v in t.items()},
                         "supernet_over_static": t["supernet"] / t["static"],
                         "masked_over_static": t["supernet_masked"] / t["static"]})
            print(f"forward b{batch} draw {d}: " + ", ".join(f"{m} {v * 1e3:.2f} ms" for m, v in t.items()),
                  flush=True)
        forwards[f"b{batch}"] = rows

    def med(rows, key):
        return round(statistics.median(r[key] for r in rows), 3)

    result = {
        "benchmark": "vit_multi_arch", "space": SPACE, "batch": args.batch, "k": args.k, "draws": args.draws,
        "rounds": args.rounds, "threads": args.threads,
        "headline": {
            "multi_over_single": med(steps, "multi_over_single"),
            "multi_over_single_max": med(steps, "multi_over_single_max"),
            "sequential_over_multi": med(steps, "sequential_over_multi"),
            "multi_masks_over_single": med(steps, "multi_masks_over_single"),
            "sequential_over_multi_masks": med(steps, "sequential_over_multi_masks"),
            **{f"supernet_over_static_{b}": med(rows, "supernet_over_static") for b, rows in forwards.items()},
            **{f"masked_over_static_{b}": med(rows, "masked_over_static") for b, rows in forwards.items()},
        },
        "goals": {"multi_over_single": "<= 1.15", "sequential_over_multi": ">= 3",
                  "supernet_over_static_b1": "<= 1.10", "supernet_over_static_b32": "<= 1.03"},
        "steps": steps, "forward": forwards,
        "machine": {"cpu": platform.processor() or platform.machine(), "torch": torch.__version__,
                    "uptime_before": load_before, "uptime_after": uptime()},
        "wall_s": round(time.time() - start, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["headline"], indent=2))
    print(f"uptime before: {load_before}; after: {uptime()}; wrote {args.out} in {result['wall_s']} s")


if __name__ == "__main__":
    main()
