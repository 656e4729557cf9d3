"""A synthetic NAS-Bench-201 table (all 15,625 cells, made-up accuracy and latency) so the benchmark
code is tested without the real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from search_spaces.nas_bench_201 import NASBench201Space


@pytest.fixture(scope="session")
def synthetic_table(tmp_path_factory):
    space = NASBench201Space()
    genomes = space.all_genomes()
    rng = np.random.default_rng(0)
    computed, live = space.edge_status(genomes)
    convs = (np.isin(space.op_ids(genomes), [2, 3]) & live).sum(axis=1)
    accuracy = 60 + 5 * convs + rng.normal(0, 1.5, len(genomes))  # more live convolutions: better and slower
    latency = 1 + computed.sum(axis=1) + 2 * convs + rng.uniform(0, 0.5, len(genomes))
    df = pd.DataFrame({"arch_str": [space.arch_str(a) for a in space.decode_many(genomes)],
                       "c10_test_200ep": accuracy, "c100_test_200ep": accuracy - 20, "in16_test_200ep": accuracy - 30,
                       "lat_raspi4": latency, "lat_pixel3": 0.5 * latency})
    path = tmp_path_factory.mktemp("nb201") / "nb201.csv"
    df.sample(frac=1.0, random_state=0).to_csv(path, index=False)  # row order must not matter
    return path
