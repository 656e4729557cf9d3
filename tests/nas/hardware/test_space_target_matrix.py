"""Every structured space x every registered target: each target predicts for every subnet through the
structure contract alone (the cpu target profiles the ops of a one-subnet restriction on this machine)."""

from __future__ import annotations

import numpy as np
import pytest

from nas.hardware import get_target, list_targets, local
from nas.hardware.opspec import structured_spaces
from search_spaces import get_space
from tests.matrix import matrix_spaces


def _one_subnet(name: str):
    space = get_space(name)
    return space.restrict(**{c.key: [c.options[0]] for c in space.choices})


# the cpu-* targets of other runtimes share the cpu target's code (test_runtimes checks them on a tiny space)
@pytest.mark.parametrize("target", [t for t in list_targets() if t == "cpu" or t not in local.CPU_TARGETS])
@pytest.mark.parametrize("space_name", matrix_spaces(structured_spaces()))
def test_every_target_covers_every_structured_space(space_name, target, fast_cpu, rng):
    space = _one_subnet(space_name) if target == "cpu" else get_space(space_name)
    model = get_target(target, space)
    assert model.space.family == space.family
    genomes = model.space.sample(50, rng)
    values = model.predict(genomes)
    assert values.shape == (50,) and np.all(np.isfinite(values)) and np.all(values > 0)
    np.testing.assert_array_equal(values, model.predict(model.space.canonical(genomes)))  # same net, same cost
