"""Fused block kernels (``nas.hardware.fused``) vs the per-layer path, per block kind.

``--family mbv3`` (default): real OFA-MobileNetV3 inverted-residual shapes; ``--family resnet``: OFA-ResNet50
bottlenecks (widths of its middle expand ratio and width multiplier) and ResNet20's basic blocks. At
batch 1 with 224-input feature sizes and batch 8 with 160-input ones (ResNet20's blocks at their CIFAR
sizes for both), on 1 and 2 threads. Paths, all inference with random BN statistics:
``fused`` (one ``nas_fused`` kernel call), ``per_layer`` (the same block with BN folded
into its convs, run op by op in eager: oneDNN convs), ``eager_bn`` (the block as extracted, BN
unfolded). Each repeat times every path in turn (interleaved, so load drifts hit them alike); the
table shows medians over repeats and speedup = per_layer / fused. ``uptime`` before and after is
recorded, since the machine may be shared.

    python benchmarks/fused_blocks.py [--family mbv3|resnet] [--repeats 15] [--threads 1 2] [--out PATH]
    (default PATH: benchmarks/results/fused_blocks.json, fused_conv_blocks.json for resnet)
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "nas" / "hardware" / "fused"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

# name, cin, cout, expand, kernel, stride, se, act, input size at 224
KINDS = [
    ("s1-down 16>24 e6 k3 s2", 16, 24, 6, 3, 2, False, "relu", 112),
    ("s1 24 e4 k7", 24, 24, 4, 7, 1, False, "relu", 56),
    ("s1 24 e6 k3", 24, 24, 6, 3, 1, False, "relu", 56),
    ("s2 40 e6 k5 SE", 40, 40, 6, 5, 1, True, "relu", 28),
    ("s3 80 e6 k3 hs", 80, 80, 6, 3, 1, False, "h_swish", 14),
    ("s3 80 e3 k7 hs", 80, 80, 3, 7, 1, False, "h_swish", 14),
    ("s4 112 e6 k5 hs SE", 112, 112, 6, 5, 1, True, "h_swish", 14),
    ("s5-down 112>160 e6 k7 s2 hs SE", 112, 160, 6, 7, 2, True, "h_swish", 14),
    ("s5 160 e6 k7 hs SE", 160, 160, 6, 7, 1, True, "h_swish", 7),
]
# name, builder (test_conv_block), its arguments, input channels, input size at 224 (None: CIFAR's 32-px
# network, the size given as the third element is used at every setting)
RESNET_KINDS = [
    ("r50 s1 256 m64 identity", "bottleneck", (256, 64, 256, 1, "identity"), 256, 56),
    ("r50 s2-down 256>512 m128 avgpool", "bottleneck", (256, 128, 512, 2, "avgpool_conv"), 256, 56),
    ("r50 s2 512 m128 identity", "bottleneck", (512, 128, 512, 1, "identity"), 512, 28),
    ("r50 s3 1024 m256 identity", "bottleneck", (1024, 256, 1024, 1, "identity"), 1024, 14),
    ("r50 s4 2048 m512 identity", "bottleneck", (2048, 512, 2048, 1, "identity"), 2048, 7),
    ("r20 16 basic 32px", "basic", (16, 16, 1, "identity"), 16, (None, 32)),
    ("r20 16>32 basic conv 16px", "basic", (16, 32, 1, "conv"), 16, (None, 16)),
    ("r20 64 basic 8px", "basic", (64, 64, 1, "identity"), 64, (None, 8)),
]
SETTINGS = [(1, 224), (8, 160)]  # (batch, input resolution)


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def folded(block: nn.Module) -> nn.Module:
    """The block with every conv's BN folded in (conv with bias, BN -> Identity), still op by op."""
    from nas.hardware.fused import fold_conv_bn
    from supernets.static.oplib import ConvBNAct

    out = copy.deepcopy(block).eval()
    for m in out.modules():
        if isinstance(m, ConvBNAct) and isinstance(m.bn, nn.BatchNorm2d):
            w, b = fold_conv_bn(m.conv, m.bn)
            conv = nn.Conv2d(m.conv.in_channels, m.conv.out_channels, m.conv.kernel_size, m.conv.stride,
                             m.conv.padding, groups=m.conv.groups, bias=True)
            conv.weight.data.copy_(w.float())
            conv.bias.data.copy_(b.float())
            m.conv, m.bn = conv, nn.Identity()
    return out


def build(kind: tuple, gen: torch.Generator) -> tuple[nn.Module, int, object, dict]:
    """A kind's block (eval, random BN statistics), its input channels, its size and the row's fields."""
    from blocks import make_basic, make_block, make_bottleneck, randomize_bn

    if len(kind) == 9:  # an inverted residual
        _, cin, cout, e, k, s, se, act, size224 = kind
        block = make_block(cin, cout, e, k, s, se, act)
        info = {"expand": e, "kernel": k, "stride": s, "se": se, "act": act}
    else:
        _, builder, args, cin, size224 = kind
        block = (make_bottleneck if builder == "bottleneck" else make_basic)(*args)
        info = {"block": builder, "args": list(args)}
    block.eval()
    randomize_bn(block, gen)
    return block, cin, size224, info


def time_call(fn, x, min_s: float) -> float:
    """Seconds per call: enough calls to fill ``min_s``."""
    n, t0 = 0, time.perf_counter()
    while True:
        fn(x)
        n += 1
        el = time.perf_counter() - t0
        if el >= min_s:
            return el / n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--family", choices=("mbv3", "resnet"), default="mbv3")
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--min-s", type=float, default=0.05, help="seconds per timed slot")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--kinds", nargs="*", help="substrings of the kind names to run")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    out = args.out or ROOT / "benchmarks" / "results" / (
        "fused_blocks.json" if args.family == "mbv3" else "fused_conv_blocks.json")

    from nas.hardware import fused

    t0 = time.perf_counter()
    fused.load()
    load_s = time.perf_counter() - t0
    load_before = uptime()
    rows = []
    gen = torch.Generator().manual_seed(0)
    kinds = [k for k in (KINDS if args.family == "mbv3" else RESNET_KINDS)
             if not args.kinds or any(s in k[0] for s in args.kinds)]
    with torch.inference_mode():
        for kind in kinds:
            block, cin, size224, info = build(kind, gen)
            paths = {"fused": fused.fused_module(block), "per_layer": folded(block), "eager_bn": block}
            for batch, res in SETTINGS:
                size = size224[1] if isinstance(size224, tuple) else round(size224 * res / 224)
                name = kind[0]
                x = torch.randn(batch, cin, size, size, generator=gen)
                ref = block(x)
                torch.testing.assert_close(paths["fused"](x), ref, rtol=1e-4, atol=1e-4)
                for threads in args.threads:
                    torch.set_num_threads(threads)
                    for fn in paths.values():  # warm up
                        time_call(fn, x, args.min_s / 2)
                    samples = {p_: [] for p_ in paths}
                    for _ in range(args.repeats):
                        for p_, fn in paths.items():
                            samples[p_].append(time_call(fn, x, args.min_s))
                    med = {p_: sorted(v)[len(v) // 2] * 1e3 for p_, v in samples.items()}
                    row = {"kind": name, "batch": batch, "resolution": res, "input": [batch, cin, size, size],
                           **info, "threads": threads,
                           **{f"{p_}_ms": round(v, 4) for p_, v in med.items()},
                           "speedup": round(med["per_layer"] / med["fused"], 3),
                           "speedup_vs_eager_bn": round(med["eager_bn"] / med["fused"], 3)}
                    rows.append(row)
                    print(f"{name:32s} b{batch}@{res} {size:3d}px t{threads}  fused {med['fused']:8.3f} ms  "
                          f"per-layer {med['per_layer']:8.3f} ms  eager+BN {med['eager_bn']:8.3f} ms  "
                          f"x{row['speedup']:.2f}", flush=True)
    load_after = uptime()
    result = {
        "what": f"fused {args.family} block kernels vs per-layer eager (BN folded), medians over interleaved repeats",
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "torch": torch.__version__, "uptime_before": load_before, "uptime_after": load_after},
        "library": str(fused.library_path()), "load_or_build_s": round(load_s, 2), "repeats": args.repeats,
        "rows": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nuptime before: {load_before}\nuptime after:  {load_after}\nwrote {out}")


if __name__ == "__main__":
    main()
