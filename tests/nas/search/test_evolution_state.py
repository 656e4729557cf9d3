"""Evolution's state: parents packed as bytes (saved every generation), and states saved before as lists."""

from __future__ import annotations

import json

import numpy as np

from nas.search._searcher import create_searcher
from nas.search.run import run_search

from .toy import SPACE, evaluator


def _searcher(seed=4):
    return create_searcher("evolution", SPACE, n_objectives=2, seed=seed, population=20)


def test_a_state_with_parents_as_lists_resumes_as_a_packed_one():
    ev = evaluator(2)
    full = run_search(SPACE, ev, _searcher(), budget=200)
    part_searcher = _searcher()
    part = run_search(SPACE, ev, part_searcher, budget=200, max_generations=4)
    packed = json.loads(json.dumps(part_searcher.state_dict()))
    assert isinstance(packed["parents"], dict)  # dtype, shape, base64
    as_lists = {**packed, "parents": part_searcher.parents.tolist(), "parents_F": part_searcher.parents_F.tolist(),
                "parents_G": part_searcher.parents_G.tolist()}  # as evolution saved states before
    for state in (packed, as_lists):
        resumed = _searcher()
        resumed.load_state_dict(state)
        np.testing.assert_array_equal(resumed.parents, part_searcher.parents)
        np.testing.assert_array_equal(resumed.parents_F, part_searcher.parents_F)
        archive = part.archive.empty_like()
        for g in range(int(part.archive.generations.max()) + 1):
            rows = np.flatnonzero(part.archive.generations == g)
            archive.add(part.archive.genomes[rows], part.archive.values_for(rows), g, part.archive.F[rows],
                        part.archive.G[rows])
        rest = run_search(SPACE, ev, resumed, budget=200, archive=archive)
        np.testing.assert_array_equal(rest.archive.genomes, full.archive.genomes)
