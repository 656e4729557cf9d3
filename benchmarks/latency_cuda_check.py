"""Does ``nas latency profile --device cuda`` work, and how do GPU block tables add up? (needs a CUDA GPU)

Profiles the 96 ops of ofa-mbv3[r=224] on the GPU (block fusion, TorchScript, batch 1, no calibration),
then times 30 random subnets end to end and compares. Recorded once on a lent H100 (the result JSON);
this machine has no GPU. The engine's Python API is used directly: the GPU machine lacked pymoo, which
the ``nas`` CLI imports for searching.

Run: python benchmarks/latency_cuda_check.py [--samples 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from nas.hardware.latency_api import profile, validate  # noqa: E402
from nas.io import write_json  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=30)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "latency_cuda_check.json")
    args = p.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA device here: nothing to check")
    table = Path(tempfile.mkdtemp()) / "cuda.csv"
    start = time.perf_counter()
    prof = profile("ofa-mbv3[r=224]", table, device="cuda", runtime="torchscript", calibrate=0, progress=False)
    profile_s = time.perf_counter() - start
    v = validate(str(table), "ofa-mbv3[r=224]", samples=args.samples, plot=args.out.with_suffix(".png"))
    keys = ("samples", "within_10pct", "rmse_pct", "median_abs_pct", "max_abs_pct", "mean_pct")
    write_json(args.out, {"what": "nas latency profile --device cuda, then end-to-end timings of random subnets",
                          "device": v["timing"]["device"], "profile_ops": prof["ops"], "profile_seconds": profile_s,
                          "validation": {k: v[k] for k in keys}, "predicted_ms": v["predicted_ms"],
                          "measured_ms": v["measured_ms"], "date": time.strftime("%Y-%m-%d")})
    print({k: v[k] for k in keys})


if __name__ == "__main__":
    main()
