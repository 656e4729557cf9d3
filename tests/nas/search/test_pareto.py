"""Hypervolume golden cases and non-dominated sorting through nas.search.pareto (pymoo underneath)."""

from __future__ import annotations

import numpy as np
import pytest

from nas.search.pareto import hypervolume, pareto_mask, pareto_ranks, select_best


@pytest.mark.parametrize("n", [1, 2, 5, 10, 50])
def test_staircase_hypervolume(n):
    # points (i, n-1-i), reference (n, n): column i is dominated up to height i+1 -> n^2 - n(n-1)/2
    F = np.stack([np.arange(n), n - 1 - np.arange(n)], axis=1).astype(float)
    assert hypervolume(F, [n, n]) == pytest.approx(n * n - n * (n - 1) / 2)


def test_dominated_points_and_points_past_the_reference_add_nothing():
    F = np.array([[1.0, 1.0]])
    base = hypervolume(F, [3, 3])
    assert base == pytest.approx(4.0)
    worse = np.array([[1.0, 1.0], [2.0, 2.0], [5.0, 0.0], [0.0, 3.0]])  # dominated, beyond x, on the y border
    assert hypervolume(worse, [3, 3]) == pytest.approx(base)
    assert hypervolume(np.array([[4.0, 4.0]]), [3, 3]) == 0.0


def test_three_dimensional_golden():
    # three 2x1x1 slabs in the box [0,2]^3; each pair and the triple share the cube [1,2]^3
    F = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
    assert hypervolume(F, [2, 2, 2]) == pytest.approx(3 * 2 - 3 * 1 + 1)
    assert hypervolume(np.zeros((1, 3)), [2, 2, 2]) == pytest.approx(8.0)


def test_pareto_mask_and_ranks():
    F = np.array([[1, 5], [2, 2], [5, 1], [3, 3], [6, 6], [2, 2]], dtype=float)
    np.testing.assert_array_equal(pareto_mask(F), [True, True, True, False, False, True])
    np.testing.assert_array_equal(pareto_ranks(F), [0, 0, 0, 1, 2, 0])
    np.testing.assert_array_equal(pareto_mask(np.array([[3.0], [1.0], [1.0]])), [False, True, True])
    assert pareto_mask(np.empty((0, 2))).shape == (0,)


def test_select_best_prefers_feasible_then_front_then_crowding():
    F = np.array([[0, 10], [10, 0], [5, 5], [4, 6], [9, 9], [0, 0]], dtype=float)
    violation = np.array([0, 0, 0, 0, 0, 1.0])  # the dominant point is infeasible
    chosen = select_best(F, 3, violation)
    assert set(chosen[:2]) == {0, 1}  # the extremes of the first front have infinite crowding distance
    assert 5 not in chosen
    assert list(select_best(F, 6, violation))[-1] == 5  # infeasible last
