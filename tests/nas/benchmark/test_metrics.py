"""Scores against an exact front: region hypervolume ratio, recall, IGD+."""

from __future__ import annotations

import numpy as np
import pytest

from nas.benchmark.metrics import REGION_ERROR_POINTS, ExactFront


def _toy() -> ExactFront:
    # cells 0-3 form the front (error, latency); 4-5 are dominated; 6 is on the front but far out of the region
    F = np.array([[5, 10], [6, 6], [8, 3], [10, 2], [7, 8], [9, 9], [40, 0.5]], dtype=float)
    return ExactFront(F)


def test_front_and_reference_point():
    exact = _toy()
    assert sorted(exact.cells.tolist()) == [0, 1, 2, 3, 6]
    # best error 5 -> error bound 20; the largest latency among front cells within it is 10
    np.testing.assert_allclose(exact.reference, [5 + REGION_ERROR_POINTS, 11.0])


def test_scores_of_the_whole_front_and_of_parts():
    exact = _toy()
    full = exact.score(np.arange(7))
    assert full["hv_ratio"] == pytest.approx(1.0) and full["recall"] == 1.0 and full["igd_plus"] == pytest.approx(0)
    part = exact.score([0, 4, 5, 4])  # repeats are ignored
    assert part["front_found"] == 1 and part["recall"] == pytest.approx(1 / 5)
    assert 0 < part["hv_ratio"] < 1 and part["igd_plus"] > 0
    assert exact.score([])["hv_ratio"] == 0.0


def test_curve_is_monotone_in_the_budget():
    exact = _toy()
    curve = exact.curve(np.array([5, 4, 1, 3, 0, 2, 6]), [1, 3, 5, 7])
    assert np.all(np.diff(curve["hv_ratio"]) >= 0) and np.all(np.diff(curve["recall"]) >= 0)
    assert curve["hv_ratio"][-1] == pytest.approx(1.0)
