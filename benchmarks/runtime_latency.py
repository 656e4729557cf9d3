"""Whole-subnet latency per runtime on this CPU: eager, TorchScript, ONNX Runtime, AOTInductor and the
engine's fused kernels, next to each subnet's waterline (issue 15's runtime benchmark).

For each space, random subnets (fixed seed) at each shape (batch @ resolution, e.g. batch 1 @224 and
batch 8 @160) are built as static nets, prepared once in every runtime (BN folded where the runtime
folds it, exactly as ``nas latency profile --runtime`` prepares them), checked against eager (max abs
difference of the outputs) and timed in interleaved rounds (``supernet_overhead.time_pair``: each
round times every runtime, in alternating order, so background load moves them alike); a subnet's
latency is the median over rounds. Headline per space and shape: the median over subnets of each
runtime's ratio to eager and to ONNX Runtime, and which runtime is fastest on the median subnet.

The waterline is the subnet's roofline bound, the sum over its kernels of max(MACs / peak, bytes /
bandwidth) with this machine's measured peaks (``nas analyze``'s definitions, per layer and with each
block fused); efficiency = waterline / measured latency.

Goals (issue 15): the engine's best runtime <= 0.7x eager and <= 0.9x ONNX Runtime on the median subnet.

Run: python benchmarks/runtime_latency.py [--space ofa-mbv3:20 --space ofa-resnet50:10] [--shape 1@224 --shape 8@160]
     [--runtime eager ...] [--rounds 5] [--threads 1]
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from supernet_overhead import time_pair  # noqa: E402

from nas.hardware import opbench, runtimes  # noqa: E402
from nas.hardware.efficiency.peaks import machine_peaks  # noqa: E402
from nas.hardware.efficiency.traffic import op_traffic  # noqa: E402
from search_spaces import get_space  # noqa: E402
from supernets.static import StaticNet  # noqa: E402

RUNTIMES = ("eager", "torchscript", "onnxruntime", "aoti", "fused")
BASELINES = ("eager", "onnxruntime")  # what a user would run without the engine


def uptime() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def parse_space(text: str) -> tuple[str, int]:
    name, _, n = text.partition(":")
    return name, int(n or 10)


def parse_shape(text: str) -> tuple[int, int]:
    batch, _, res = text.partition("@")
    return int(batch), int(res)


def waterline(ops, batch: int, peaks) -> dict:
    """Roofline bound of the whole subnet (ms): layer by layer, and with each block one kernel."""
    traffic = [op_traffic(op, batch, peaks.peak_flops, peaks.bandwidth) for op in ops]
    return {"layer_ms": sum(t.ideal_layer_ms for t in traffic), "fused_ms": sum(t.ideal_fused_ms for t in traffic),
            "macs": int(sum(t.macs for t in traffic))}


def time_subnet(space, arch, batch: int, names, threads: int, rounds: int, min_round_s: float) -> dict:
    ops, shape = space.layers(arch), space.input_shape(arch)
    net = StaticNet(ops, shape).eval()
    x = torch.randn(batch, *shape)
    with torch.no_grad():
        reference = net(x)
    fns, errors, skipped = {}, {}, {}
    for name in names:
        try:
            fn = runtimes.prepare(name, net, x, threads)
        except Exception as exc:  # noqa: BLE001 -- a runtime that cannot run this subnet is reported, not fatal
            skipped[name] = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            continue
        with torch.no_grad():
            errors[name] = float((fn(x) - reference).abs().max())
        fns[name] = fn

    def call(fn):
        def run():
            with torch.no_grad():
                fn(x)
        return run

    t = time_pair({n: call(f) for n, f in fns.items()}, rounds, min_round_s, "cpu")
    return {"ms": {n: round(v * 1e3, 3) for n, v in t.items()}, "max_abs_error": errors,
            "output_max_abs": float(reference.abs().max()), "skipped": skipped, "ops": ops}


def summarize(rows: list[dict], names) -> dict:
    """Medians over subnets of each runtime's latency ratio to each baseline, and the fastest runtime."""
    out = {"median_ms": {}, "over_eager": {}, "over_onnxruntime": {}, "efficiency_layer": {}, "efficiency_fused": {}}
    for n in names:
        have = [r for r in rows if n in r["ms"]]
        if not have:
            continue
        out["median_ms"][n] = round(statistics.median(r["ms"][n] for r in have), 3)
        for base in BASELINES:
            pairs = [r["ms"][n] / r["ms"][base] for r in have if base in r["ms"]]
            if pairs:
                out[f"over_{base}"][n] = round(statistics.median(pairs), 3)
        out["efficiency_layer"][n] = round(statistics.median(r["waterline"]["layer_ms"] / r["ms"][n] for r in have), 4)
        out["efficiency_fused"][n] = round(statistics.median(r["waterline"]["fused_ms"] / r["ms"][n] for r in have), 4)
    engine = {n: v for n, v in out["over_eager"].items() if n not in BASELINES}
    if engine:
        best = min(engine, key=engine.get)
        out["best_engine_runtime"] = best
        out["best_over_eager"] = out["over_eager"][best]
        out["best_over_onnxruntime"] = out["over_onnxruntime"].get(best)
    out["fastest_per_subnet"] = {n: sum(1 for r in rows if r["ms"] and min(r["ms"], key=r["ms"].get) == n)
                                 for n in names}
    return out


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [(space, shape, block) for space, shapes in result["spaces"].items() for shape, block in shapes.items()]
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.8), squeeze=False)
    for ax, (space, shape, block) in zip(axes[0], groups):
        names = list(block["summary"]["median_ms"])
        for i, n in enumerate(names):
            ratios = [r["ms"][n] / r["ms"]["eager"] for r in block["subnets"] if n in r["ms"] and "eager" in r["ms"]]
            ax.scatter([i] * len(ratios), ratios, s=12, alpha=0.6)
            ax.plot([i - 0.3, i + 0.3], [statistics.median(ratios)] * 2, color="k")
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
        ax.axhline(1.0, color="gray", lw=0.8, ls="--")
        ax.set_title(f"{space}, batch {shape}", fontsize=9)
        ax.set_ylabel("latency / eager")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", action="append", help="SPACE:N random subnets (default ofa-mbv3:20, ofa-resnet50:10)")
    ap.add_argument("--shape", action="append", help="BATCH@RESOLUTION (default 1@224 and 8@160)")
    ap.add_argument("--runtime", action="append", choices=RUNTIMES, help="runtimes to time (default: all five)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-round-s", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(Path(__file__).with_name("results") / "runtime_latency.json"))
    args = ap.parse_args()
    spaces = [parse_space(s) for s in (args.space or ["ofa-mbv3:20", "ofa-resnet50:10"])]
    shapes = [parse_shape(s) for s in (args.shape or ["1@224", "8@160"])]
    names = tuple(args.runtime or RUNTIMES)
    for name in names:
        runtimes.require(name)  # a runtime that cannot run here is refused before anything is timed
    torch.manual_seed(args.seed)
    start, load_before = time.time(), uptime()
    peaks = machine_peaks(args.threads)
    result = {"benchmark": "runtime_latency", "threads": args.threads, "rounds": args.rounds, "seed": args.seed,
              "runtimes": list(names), "statistic": "median over interleaved rounds, then over subnets",
              "peaks": peaks.to_json(), "goals": {"best_over_eager": "<= 0.7", "best_over_onnxruntime": "<= 0.9"},
              "spaces": {}}
    with opbench.fixed_threads(args.threads):
        for space_name, n in spaces:
            for batch, res in shapes:
                space = get_space(f"{space_name}[r={res}]")
                archs = space.decode_many(space.sample(n, np.random.default_rng(args.seed)))
                rows = []
                for i, arch in enumerate(archs):
                    row = time_subnet(space, arch, batch, names, args.threads, args.rounds, args.min_round_s)
                    row["waterline"] = waterline(row.pop("ops"), batch, peaks)
                    row["arch_id"] = space.arch_id(arch)
                    rows.append(row)
                    print(f"{space_name} b{batch}@{res} subnet {i + 1}/{n}: "
                          + ", ".join(f"{k} {v:.1f}" for k, v in row["ms"].items()) + " ms"
                          + (f" (skipped {sorted(row['skipped'])})" if row["skipped"] else ""), flush=True)
                block = {"subnets": rows, "summary": summarize(rows, names)}
                result["spaces"].setdefault(space_name, {})[f"{batch}@{res}"] = block
                print(json.dumps(block["summary"]), flush=True)
                save(result, Path(args.out), load_before, start, done=False)  # a cut run keeps its blocks
    save(result, Path(args.out), load_before, start, done=True)
    print(f"uptime before: {load_before}; after: {uptime()}; wrote {args.out} in {result['wall_s']} s")


def save(result: dict, out: Path, load_before: str, start: float, done: bool) -> None:
    result["machine"] = {"cpu": platform.processor() or platform.machine(), "torch": torch.__version__,
                         "uptime_before": load_before, "uptime_after": uptime()}
    result["wall_s"] = round(time.time() - start, 1)
    result["complete"] = done
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out)
    plot(result, out.with_suffix(".png"))


if __name__ == "__main__":
    main()
