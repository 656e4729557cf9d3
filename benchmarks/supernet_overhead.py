"""Supernet overhead: a subnet run inside the supernet vs the same subnet extracted as a static module.

Baseline: the extracted static subnet (``Supernet.extract``), timed in the same run, interleaved with
the supernet. Settings: batch 1 at 224 and batch 32 at 128; forward (eval, no grad) and a training
step (train mode, forward + backward); the smallest, the largest and N random subnets. Each number is
the median over rounds; the headline is the median over subnets of supernet time / static time.
once-for-all's own supernet (``OFAMobileNetV3`` or ``OFAResNets``, and its own extracted subnets)
joins the run when the package imports.

Run: python benchmarks/supernet_overhead.py [--space ofa-mbv3|ofa-resnet50] [--subnets 20] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supernets import create_supernet  # noqa: E402

SETTINGS = {"b1@224": (1, 224), "b32@128": (32, 128)}
MODES = ("forward", "train_step")


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _runner(model: torch.nn.Module, x: torch.Tensor, mode: str) -> Callable[[], None]:
    if mode == "forward":
        model.eval()

        def run():
            with torch.no_grad():
                model(x)
    else:
        model.train()

        def run():
            model.zero_grad(set_to_none=True)
            model(x).sum().backward()
    return run


def time_pair(fns: dict[str, Callable[[], None]], rounds: int, min_round_s: float, device: str) -> dict[str, float]:
    """Median seconds per call of each function; rounds interleave the functions to share the noise."""
    iters = {}
    for name, fn in fns.items():
        fn()
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        iters[name] = max(1, int(min_round_s / max(time.perf_counter() - t, 1e-6)))
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(rounds):
        order = list(fns) if r % 2 == 0 else list(reversed(list(fns)))
        for name in order:
            _sync(device)
            t = time.perf_counter()
            for _ in range(iters[name]):
                fns[name]()
            _sync(device)
            samples[name].append((time.perf_counter() - t) / iters[name])
    return {name: statistics.median(v) for name, v in samples.items()}


def load_ofa_reference(space: str):
    """once-for-all's supernet for ``space`` and how to select a subnet in it, or None without the package."""
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.supernets.ofa_reference import import_reference
    except ImportError:
        return None
    if space == "ofa-resnet50":
        cls = import_reference("OFAResNets")
        if cls is None:
            return None
        net = cls(n_classes=1000, dropout_rate=0, depth_list=[0, 1, 2], expand_ratio_list=[0.2, 0.25, 0.35],
                  width_mult_list=[0.65, 0.8, 1.0])
        return net, lambda arch: net.set_active_subnet(d=arch["d"], e=arch["e"], w=arch["w"])
    cls = import_reference()
    if cls is None:
        return None
    net = cls(n_classes=1000, dropout_rate=0, width_mult=1.0, ks_list=[3, 5, 7], expand_ratio_list=[3, 4, 6],
              depth_list=[2, 3, 4])
    return net, lambda arch: net.set_active_subnet(ks=arch["ks"], e=arch["e"], d=arch["d"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="ofa-mbv3", choices=["ofa-mbv3", "ofa-resnet50"])
    ap.add_argument("--subnets", type=int, default=20, help="random subnets besides the min and the max")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-round-s", type=float, default=0.25)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-ofa", action="store_true", help="skip once-for-all's reference supernet")
    ap.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--modes", nargs="*", default=list(MODES), choices=list(MODES))
    ap.add_argument("--merge", nargs="*", help="merge the result files of partial runs into --out and exit")
    ap.add_argument("--out", default=None, help="default: results/supernet_overhead[_SPACE].json")
    args = ap.parse_args()
    if args.out is None:
        suffix = "" if args.space == "ofa-mbv3" else f"_{args.space}"
        args.out = str(Path(__file__).with_name("results") / f"supernet_overhead{suffix}.json")
    if args.merge:
        merge(args.merge, args.out)
        return
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = args.device
    ours = create_supernet(args.space).to(device)
    reference = None if args.no_ofa else load_ofa_reference(args.space)
    ofa, select = (None, None) if reference is None else reference
    if ofa is not None:
        ofa = ofa.to(device)
    space = ours.space
    rng = np.random.default_rng(0)
    largest, smallest = space.extremes()
    archs = [smallest, largest] + space.decode_many(space.sample(args.subnets, rng))
    labels = ["min", "max"] + [f"random{i}" for i in range(args.subnets)]
    results: dict = {}
    for setting in args.settings:
        batch, res = SETTINGS[setting]
        x = torch.randn(batch, 3, res, res, device=device)
        for mode in args.modes:
            rows = []
            for label, arch in zip(labels, archs):
                arch = ours.set_active(space.canonical_arch({**arch, "r": res}))
                fns = {"ours_supernet": _runner(ours, x, mode), "ours_static": _runner(ours.extract(arch), x, mode)}
                if ofa is not None:
                    select(arch)
                    fns["ofa_supernet"] = _runner(ofa, x, mode)
                    fns["ofa_static"] = _runner(ofa.get_active_subnet(), x, mode)
                t = time_pair(fns, args.rounds, args.min_round_s, device)
                row = {"subnet": label, "ms": {k: v * 1e3 for k, v in t.items()},
                       "ours_ratio": t["ours_supernet"] / t["ours_static"]}
                if ofa is not None:
                    row["ofa_ratio"] = t["ofa_supernet"] / t["ofa_static"]
                rows.append(row)
                print(f"{setting} {mode:10s} {label:9s} ours {row['ours_ratio']:.3f}"
                      + (f"  once-for-all {row['ofa_ratio']:.3f}" if ofa is not None else ""), flush=True)
            summary = {"median_ratio_ours": statistics.median(r["ours_ratio"] for r in rows),
                       "min_subnet_ratio_ours": rows[0]["ours_ratio"], "max_subnet_ratio_ours": rows[1]["ours_ratio"]}
            if ofa is not None:
                summary.update({"median_ratio_ofa": statistics.median(r["ofa_ratio"] for r in rows),
                                "min_subnet_ratio_ofa": rows[0]["ofa_ratio"],
                                "max_subnet_ratio_ofa": rows[1]["ofa_ratio"]})
            results[f"{setting}/{mode}"] = {"summary": summary, "subnets": rows}
    report = {
        "benchmark": "supernet_overhead", "space": args.space,
        "baseline": "the same subnet extracted as a static module (Supernet.extract), timed in the same run",
        "device": device, "threads": args.threads, "torch": torch.__version__, "machine": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "gpu": torch.cuda.get_device_name() if device == "cuda" else None,
        "subnets": len(archs), "rounds": args.rounds, "reference_included": ofa is not None,
        "results": results,
        "goals": {"b1@224/forward": 1.05, "b32@128/forward": 1.01},
    }
    write_report(report, args.out)


def write_report(report: dict, out: str) -> None:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {path}")
    for key, value in report["results"].items():
        s = value["summary"]
        print(f"{key:20s} ours {s['median_ratio_ours']:.3f}x"
              + (f"   once-for-all {s['median_ratio_ofa']:.3f}x" if "median_ratio_ofa" in s else ""))


def merge(files: list[str], out: str) -> None:
    """Combine partial runs (e.g. one per setting and mode, run in parallel on separate cores)."""
    reports = [json.loads(Path(f).read_text()) for f in files]
    merged = {**reports[0], "results": {}}
    for r in reports:
        merged["results"].update(r["results"])
    merged["parts"] = len(reports)
    write_report(merged, out)


if __name__ == "__main__":
    main()
