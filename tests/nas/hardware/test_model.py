"""LatencyModel: vectorized prediction equals the per-subnet sum of the kernels it runs; missing ops fail loudly."""

from __future__ import annotations

import numpy as np
import pytest

from nas.hardware.model import LatencyModel, latency_target
from nas.hardware.table import LatencyTable
from search_spaces import FUSIONS, get_space
from search_spaces.errors import InvalidArchitecture, InvalidInput

from .conftest import synthetic_table


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("space_name", ["ofa-mbv3", "ofa-mbv3-w1.2", "ofa-mbv3[r=224]"])
def test_vectorized_prediction_equals_per_subnet_sum(space_name, fusion, rng):
    space = get_space(space_name)
    table = synthetic_table(space, fusion)
    model = LatencyModel(table, space)
    genomes = np.concatenate([space.sample(200, rng), np.zeros((1, space.n_genes), int), space.n_options[None] - 1])
    loop = [sum(table.latency(op.key) for op in space.layers(a, fusion)) for a in space.decode_many(genomes)]
    np.testing.assert_allclose(model.predict(genomes), loop, rtol=1e-12)
    arch = space.decode(genomes[0])
    assert sum(ms for _, ms in model.breakdown(arch)) == pytest.approx(loop[0], rel=1e-12)


def test_inactive_genes_do_not_change_latency(rng):
    space = get_space("ofa-mbv3")
    model = LatencyModel(synthetic_table(space), space)
    g = space.sample(100, rng)
    np.testing.assert_array_equal(model.predict(g), model.predict(space.canonical(g)))


def test_missing_op_names_the_spec_and_the_covered_resolutions():
    space = get_space("ofa-mbv3")
    partial = synthetic_table(get_space("ofa-mbv3[r=160/224]"))
    with pytest.raises(InvalidInput, match=r"has no entry for op conv-in:128x128x3-\S+ \(and \d+ more ops that "
                                           r"ofa-mbv3 needs\); it covers ofa-mbv3\[r=160/224\]: search that space"):
        LatencyModel(partial, space)
    model = LatencyModel.covering(partial, space)
    assert model.space.name == "ofa-mbv3[r=160/224]"
    assert model.predict(model.space.sample(3, np.random.default_rng(0))).size == 3


def test_table_for_another_space_is_refused():
    table = synthetic_table(get_space("ofa-mbv3-w1.2"))
    with pytest.raises(InvalidInput, match="was made for space ofa-mbv3-w1.2, not ofa-mbv3"):
        LatencyModel(table, get_space("ofa-mbv3"))


def test_wrong_genomes_are_refused():
    space = get_space("ofa-mbv3")
    model = latency_target(synthetic_table(space), space)
    with pytest.raises(InvalidArchitecture, match="do not fit space ofa-mbv3"):
        model.predict(np.zeros((2, 3), int))
    assert model.metric == "latency" and model.unit == "ms" and model.metadata["source"] == "synthetic"


def test_calibration_is_applied_on_top_of_the_raw_sum(rng):
    space = get_space("ofa-mbv3")
    raw = synthetic_table(space)
    cal = LatencyTable(raw.rows, raw.metadata | {"calibration": {"scale": 1.5, "offset_ms": 0.25}})
    g = space.sample(10, rng)
    np.testing.assert_allclose(LatencyModel(cal, space).predict(g), 1.5 * LatencyModel(raw, space).predict(g) + 0.25)
