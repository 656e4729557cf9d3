"""Latency prediction throughput: the vectorized LatencyModel vs a per-arch Python loop over the same table.

Baseline (same run, same table): for each subnet, decode the genome, build its layout and sum the table
entries of the kernels it runs (what once-for-all's ``predict_network_latency_given_config`` does).
Targets: ``jetson`` (layer fusion, ~6 kernels per block) and a block-fusion table (once-for-all's Note10
import when the shared data is there, else a synthetic block table). Also times building the jetson
target in a fresh process (what ``nas search --target jetson`` pays on a fresh machine).
Medians over rounds; throughput in subnets per second.

Run: python benchmarks/latency_throughput.py [--n 100000] [--loop-n 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nas.hardware import get_target  # noqa: E402
from nas.hardware.model import LatencyModel  # noqa: E402
from nas.hardware.opspec import layout_ops  # noqa: E402
from nas.io import write_json  # noqa: E402
from search_spaces import get_space  # noqa: E402

NOTE10 = ROOT.parent / "shared" / "data" / "latency" / "ofa-note10"


def loop_predict(table, space, fusion: str, genomes: np.ndarray) -> np.ndarray:
    out = []
    for arch in space.decode_many(genomes):
        layout = space.layout(arch)
        out.append(sum(table.get(op.key, layout.resolution) for op in layout_ops(layout, fusion)))
    return np.array(out)


def median_s(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def block_model():
    if NOTE10.is_dir():
        from nas.hardware.ofa_import import import_ofa_tables

        table = import_ofa_tables(NOTE10, "note10")
        return "note10 (block fusion)", LatencyModel.covering(table, get_space("ofa-mbv3-w1.2")), table
    sys.path.insert(0, str(ROOT / "tests" / "nas" / "hardware"))
    from conftest import synthetic_table  # noqa: E402

    space = get_space("ofa-mbv3")
    table = synthetic_table(space)
    return "synthetic (block fusion)", LatencyModel(table, space), table


def fresh_process_build_s() -> float:
    code = ("import time; t = time.perf_counter()\n"
            "from nas.hardware import get_target; from search_spaces import get_space\n"
            "m = get_target('jetson', get_space('ofa-mbv3')); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--loop-n", type=int, default=2_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "latency_throughput.json")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    jetson = get_target("jetson", get_space("ofa-mbv3"))
    from nas.hardware.jetson import jetson_table

    cases = [("jetson-orin-nano (layer fusion)", jetson.predict, jetson.space, jetson_table(jetson.space), "layer")]
    name, model, table = block_model()
    cases.append((name, model.predict, model.space, table, "block"))
    rows = []
    for label, predict, space, tbl, fusion in cases:
        g = space.sample(args.n, rng)
        small = g[: args.loop_n]
        np.testing.assert_allclose(predict(small), loop_predict(tbl, space, fusion, small), rtol=1e-9)  # same numbers
        vec_s = median_s(lambda p=predict, g=g: p(g), args.rounds)
        loop_s = median_s(lambda t=tbl, s=space, f=fusion, x=small: loop_predict(t, s, f, x), max(1, args.rounds // 2))
        rows.append({"target": label, "space": space.name, "vectorized_subnets_per_s": args.n / vec_s,
                     "loop_subnets_per_s": args.loop_n / loop_s, "speedup": (args.n / vec_s) / (args.loop_n / loop_s),
                     "vectorized_n": args.n, "loop_n": args.loop_n})
        print(f"{label}: {rows[-1]['vectorized_subnets_per_s']:,.0f} subnets/s vectorized vs "
              f"{rows[-1]['loop_subnets_per_s']:,.0f} in a Python loop ({rows[-1]['speedup']:.0f}x)")
    build = [fresh_process_build_s() for _ in range(3)]
    result = {"benchmark": "latency_throughput", "baseline": "per-arch Python loop over the same table",
              "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "load_avg": os.getloadavg()},
              "goal": ">= 100k OFA-MBv3 subnets/s on 2 cores", "rows": rows,
              "jetson_target_fresh_process_s": {"median": statistics.median(build), "runs": build},
              "date": time.strftime("%Y-%m-%d")}
    print(f"jetson target in a fresh process (imports + build): {statistics.median(build):.2f} s")
    write_json(args.out, result)


if __name__ == "__main__":
    main()
