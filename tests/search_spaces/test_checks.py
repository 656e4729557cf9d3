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


# ------------------------------------------------------------------ bounded readers (issue 17)
DEEP = "[" * 100_000 + "]" * 100_000


def test_deeply_nested_json_and_yaml_are_one_line_invalid_input(tmp_path):
    from search_spaces.checks import parse_json_text, read_json_file, read_yaml_file

    with pytest.raises(InvalidInput, match="^the header is JSON nested too deeply to read: Python's parser stops"):
        parse_json_text(DEEP, "the header")
    (tmp_path / "d.json").write_text(DEEP)
    (tmp_path / "d.yaml").write_text(DEEP)
    with pytest.raises(InvalidInput, match=r"^run file .*d\.json is JSON nested too deeply"):
        read_json_file(tmp_path / "d.json", "run file")
    with pytest.raises(InvalidInput, match=r"^lookup table .*d\.yaml is YAML nested too deeply"):
        read_yaml_file(tmp_path / "d.yaml", "lookup table")
    with pytest.raises(InvalidInput, match=r"^x is not JSON \(Expecting"):
        parse_json_text("{", "x")
    assert parse_json_text(b'{"a": [1]}', "x") == {"a": [1]}


def test_yaml_reader_refuses_what_safe_load_refuses(tmp_path):
    from search_spaces.checks import read_yaml_file

    (tmp_path / "code.yaml").write_text("!!python/object/apply:os.system ['true']\n")
    with pytest.raises(InvalidInput, match="is not valid YAML"):
        read_yaml_file(tmp_path / "code.yaml", "table")
    (tmp_path / "ok.yaml").write_text("a: {mean: 1.5}\n")
    assert read_yaml_file(tmp_path / "ok.yaml") == {"a": {"mean": 1.5}}


def test_a_named_pipe_is_not_a_regular_file(tmp_path):
    import os

    from search_spaces.checks import check_regular_file

    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(InvalidInput, match=r"^data .*pipe is not a regular file: it is a named pipe \(FIFO\)"):
        check_regular_file(tmp_path / "pipe", "data")
    check_regular_file(tmp_path, "data")  # folders and missing paths are the caller's to judge
    check_regular_file(tmp_path / "missing", "data")


def test_memory_check_says_how_much_is_needed_and_available():
    from search_spaces.checks import available_memory, check_fits_in_memory

    assert available_memory() > 0
    check_fits_in_memory(1024, "a kilobyte")
    with pytest.raises(InvalidInput, match=r"^-o population=10\*\*11 needs about 32\.7 TiB of memory, more than the "
                                           r".* this machine has available"):
        check_fits_in_memory(36e12, "-o population=10**11")
