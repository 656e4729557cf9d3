"""Regenerate nas/hardware/artifacts/jetson-orin-nano.json from the measured Jetson Orin Nano layers.

    python scripts/calibrate_jetson.py [--data ../shared/data/latency/jetson-orin-nano-mbv2]

Fits the roofline-style model (see nas/hardware/jetson.py), measures its leave-one-out error on the
measured layers and writes parameters + provenance. Prints the errors it records.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nas.hardware.jetson import ARTIFACT, calibrate
from nas.io import write_json

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "latency" / "jetson-orin-nano-mbv2"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--out", type=Path, default=ARTIFACT)
    args = p.parse_args()
    doc = calibrate(args.data)
    doc["metadata"]["source_files"] = sorted(f.name for f in args.data.glob("*.csv"))
    doc["metadata"]["command"] = "python scripts/calibrate_jetson.py"
    write_json(args.out, doc)
    print(json.dumps(doc["metadata"]["measured_error"], indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
