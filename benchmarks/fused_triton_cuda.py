"""The Triton inverted-residual kernel vs cuDNN per layer, on a CUDA device (issue 15's GPU check).

For each OFA-MobileNetV3 block kind of ``fused_blocks.py``, at batch 1 with 224-input sizes and batch 8
with 160-input ones: ``triton`` (``nas.hardware.fused.TritonInvertedResidual``) against ``per_layer`` (the
block with BN folded, cuDNN convs). Times are CUDA-event medians over ``--repeats`` interleaved rounds
of ``--calls`` calls each, after a warm-up (Triton compiles on its first call). Outputs are checked
against the eager block (1e-4) before timing. Needs a CUDA device and ``pip install triton``; without
them it says so and exits 2.

    python benchmarks/fused_triton_cuda.py [--repeats 15] [--calls 20] [--out benchmarks/results/fused_triton_cuda.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests" / "nas" / "hardware" / "fused")]

import torch  # noqa: E402
from fused_blocks import KINDS, SETTINGS, build, folded  # noqa: E402


def cuda_ms(fn, x, calls: int) -> float:
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(calls):
        fn(x)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / calls


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--calls", type=int, default=20)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fused_triton_cuda.json")
    args = p.parse_args()
    from nas.hardware.fused import TritonInvertedResidual, triton_available

    if not torch.cuda.is_available() or not triton_available():
        print("fused_triton_cuda: needs a CUDA device and Triton (pip install triton)", file=sys.stderr)
        raise SystemExit(2)
    rows, gen = [], torch.Generator().manual_seed(0)
    with torch.inference_mode():
        for kind in KINDS:
            block, cin, size224, info = build(kind, gen)
            paths = {"triton": TritonInvertedResidual(block).cuda(), "per_layer": folded(block).cuda()}
            for batch, res in SETTINGS:
                size = round(size224 * res / 224)
                x = torch.randn(batch, cin, size, size, generator=gen)
                torch.testing.assert_close(paths["triton"](x.cuda()).cpu(), block(x), rtol=1e-4, atol=1e-4)
                x = x.cuda()
                for fn in paths.values():
                    cuda_ms(fn, x, 3)  # compile and warm up
                samples = {name: [] for name in paths}
                for _ in range(args.repeats):
                    for name, fn in paths.items():
                        samples[name].append(cuda_ms(fn, x, args.calls))
                med = {name: statistics.median(v) for name, v in samples.items()}
                rows.append({"kind": kind[0], "batch": batch, "resolution": res, "input": [batch, cin, size, size],
                             **info, **{f"{k}_ms": round(v, 4) for k, v in med.items()},
                             "speedup": round(med["per_layer"] / med["triton"], 3)})
                print(f"{kind[0]:32s} b{batch}@{res}  triton {med['triton']:.3f} ms  per-layer "
                      f"{med['per_layer']:.3f} ms  x{rows[-1]['speedup']:.2f}", flush=True)
    result = {"what": "Triton inverted-residual kernel vs cuDNN per layer (BN folded), CUDA-event medians",
              "device": torch.cuda.get_device_name(), "torch": torch.__version__, "repeats": args.repeats,
              "calls": args.calls, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
