"""Measured accuracy on S+q: a checkpoint trained for S, evaluated through ``nas evaluate``'s path and the
search objective, each subnet post-training quantized with its arch's bits."""

from __future__ import annotations

import numpy as np
import pytest

import supernets
from nas.evaluate import evaluate_checkpoint
from nas.evaluate.objective import measured_accuracy_objective
from search_spaces import get_space
from search_spaces.errors import InvalidInput
from supernets.checkpoint import load_supernet, save_checkpoint

DATA = "synthetic:n_train=192,n_test=32"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "supernet.pt"
    save_checkpoint(supernets.create_supernet("resnet20-pooling"), path)
    return path


def test_checkpoint_of_s_serves_s_plus_q(checkpoint):
    supernet, _ = load_supernet(checkpoint, "resnet20-pooling+q")
    assert supernet.space.name == "resnet20-pooling"
    assert supernets.create_supernet("resnet20-pooling+q[wbits=8]").space.name == "resnet20-pooling"


def test_evaluate_s_plus_q_end_to_end(checkpoint):
    space = get_space("resnet20-pooling+q")
    base = space.base.extremes()[1]
    archs = [space.with_bits(base, 32, 32), space.with_bits(base, 8, 8), space.with_bits(base, 4, 8, "asymmetric")]
    result = evaluate_checkpoint(checkpoint, DATA, archs=archs, space="resnet20-pooling+q", bn_images=64,
                                 eval_images=32, batch_size=64)
    assert result.space == "resnet20-pooling+q" and len(result.table) == 3
    assert result.table["accuracy"].between(0, 100).all()
    assert result.table["arch_id"].str.contains("wbits:8").any()
    fp32 = evaluate_checkpoint(checkpoint, DATA, archs=[base], bn_images=64, eval_images=32, batch_size=64)
    assert fp32.table["accuracy"].iloc[0] == result.table["accuracy"].iloc[0]  # all-32 bits is the fp32 subnet


def test_objective_measures_s_plus_q(checkpoint):
    space = get_space("resnet20-pooling+q[wbits=8/32,abits=8]")
    objective = measured_accuracy_objective(checkpoint, DATA, space=space.name, bn_images=64, eval_images=32,
                                            batch_size=64)
    try:
        values = objective(space.sample(2, np.random.default_rng(0)))
    finally:
        objective.release()
    assert values.shape == (2,) and np.all((values >= 0) & (values <= 100))


def test_bits_where_fp32_is_needed_and_back(checkpoint):
    space = get_space("resnet20-pooling+q")
    base = space.base.extremes()[1]
    with pytest.raises(InvalidInput, match="quantized architecture") as e:
        evaluate_checkpoint(checkpoint, DATA, archs=[space.with_bits(base, 8, 8)], bn_images=64, eval_images=32)
    assert "\n" not in str(e.value)
    with pytest.raises(InvalidInput, match="missing key 'wbits'") as e:
        evaluate_checkpoint(checkpoint, DATA, archs=[base], space="resnet20-pooling+q", bn_images=64, eval_images=32)
    assert "\n" not in str(e.value)
