"""The shared input checks: seeds, and torch.load failures in a few words."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from search_spaces.checks import MAX_SEED, check_seed, torch_load_reason
from search_spaces.errors import InvalidInput


@pytest.mark.parametrize("seed", [0, 7, np.int64(3), MAX_SEED])
def test_seeds_in_range_pass_as_ints(seed):
    assert check_seed(seed) == int(seed) and type(check_seed(seed)) is int


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 1.5, "3", True, None])
def test_other_seeds_name_the_option_and_the_range(seed):
    with pytest.raises(InvalidInput, match=f"--split-seed must be an integer from 0 to {MAX_SEED}"):
        check_seed(seed, "--split-seed")


@pytest.mark.parametrize("exc,reason", [
    (pickle.UnpicklingError("Weights only load failed. Long advice. WeightsUnpickler error: \n\nUnsupported operand "
                            "211\n\nCheck the documentation of torch.load"),
     "the file is truncated or not a torch checkpoint (unsupported operand 211)"),
    (pickle.UnpicklingError("Weights only load failed. WeightsUnpickler error: Unsupported global: GLOBAL "
                            "torch.nn.Sequential was not an allowed global"), "it pickles a torch.nn.Sequential"),
    (IndexError("pop from empty list"), "not a pickle or zip archive"),
    (RuntimeError("PytorchStreamReader failed reading zip archive: failed finding central directory"),
     "(the file is truncated or corrupt)"),
])
def test_torch_load_failures_read_as_one_short_reason(exc, reason):
    text = torch_load_reason(exc)
    assert reason in text and "weights_only" not in text and len(text) <= 160
