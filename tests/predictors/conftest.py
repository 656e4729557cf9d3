"""Fixtures for predictor tests: a small synthetic space and a known function on it."""

from __future__ import annotations

import numpy as np
import pytest

from predictors import PREDICTORS
from search_spaces import Choice, SearchSpace

# small settings so every kind fits in about a second; plugin kinds get their defaults
FAST = {
    "mlp": {"epochs": 60, "hidden": [32]},
    "gbm": {"n_estimators": 150, "max_depth": 2},
    "ensemble": {"members": [{"kind": "ridge"}, {"kind": "mlp", "epochs": 40, "hidden": [16]}]},
}


def fast_params(kind: str) -> dict:
    return dict(FAST.get(kind, {}))


def toy_space() -> SearchSpace:
    return SearchSpace("toy", [Choice("a", (0, 1, 2), 6), Choice("b", (1, 2, 3, 4), 2)])


def known_function(space: SearchSpace, genomes: np.ndarray) -> np.ndarray:
    """An additive effect per gene option plus one interaction, around 70 (like a top-1 in %)."""
    weights = np.random.default_rng(123).normal(size=space.features(genomes[:1], "onehot").shape[1])
    X = space.features(genomes, "onehot")
    return 70.0 + X @ weights + 0.5 * (genomes[:, 0] == genomes[:, 1])


@pytest.fixture(scope="session")
def toy() -> SearchSpace:
    return toy_space()


@pytest.fixture(scope="session")
def toy_data():
    space = toy_space()
    genomes = np.unique(space.sample(900, np.random.default_rng(0)), axis=0)
    order = np.random.default_rng(1).permutation(len(genomes))
    train, test = genomes[order[:300]], genomes[order[300:500]]
    return space, train, known_function(space, train), test, known_function(space, test)


@pytest.fixture(params=sorted(PREDICTORS.names()))
def kind(request) -> str:
    return request.param
