"""Supernet checkpoints: round trip, once-for-all files, and refusal of foreign or corrupt files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from search_spaces.errors import CheckpointError
from supernets import create_supernet
from supernets.checkpoint import load_supernet, load_weights, save_checkpoint
from supernets.compat.ofa_mbv3 import to_ofa_state_dict


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return create_supernet("ofa-mbv3")


def test_roundtrip(net, tmp_path):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(net, path, extra={"epoch": 3})
    loaded, meta = load_supernet(path)
    assert meta["space"] == "ofa-mbv3" and meta["extra"] == {"epoch": 3}
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    assert not list(tmp_path.glob(".*tmp*"))  # no temp files left behind


def test_once_for_all_file_loads_with_space(net, tmp_path):
    path = tmp_path / "ofa.pth"
    torch.save({"state_dict": to_ofa_state_dict(net)}, path)
    loaded, meta = load_supernet(path, "ofa-mbv3")
    assert meta["format"] == "once-for-all OFAMobileNetV3"
    with pytest.raises(CheckpointError, match="does not say which space"):
        load_supernet(path)


def test_wrong_space_is_refused(net, tmp_path):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(net, path)
    with pytest.raises(CheckpointError, match="made for space ofa-mbv3, not ofa-mbv3-w1.2"):
        load_supernet(path, "ofa-mbv3-w1.2")
    with pytest.raises(CheckpointError, match="made for space ofa-mbv3, not ofa-mbv3-w1.2"):
        load_weights(create_supernet("ofa-mbv3-w1.2"), path)


@pytest.mark.parametrize("content", [b"", b"not a torch file", b"PK\x03\x04garbage"])
def test_corrupt_files_are_refused(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="corrupt"):
        load_supernet(path, "ofa-mbv3")


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_supernet(tmp_path / "nope.pt", "ofa-mbv3")
    path = tmp_path / "list.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="holds a list"):
        load_supernet(path, "ofa-mbv3")
    path = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="neither"):
        load_supernet(path, "ofa-mbv3")


def test_truncated_checkpoint_is_refused(net, tmp_path):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(net, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_supernet(path)


def test_random_bytes_name_why_they_are_not_a_checkpoint(tmp_path):
    from supernets.checkpoint import read_checkpoint

    path = tmp_path / "rand.pt"
    path.write_bytes(np.random.default_rng(0).bytes(3000))
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"checkpoint {path} is corrupt or not a torch file (")
    assert message.endswith(")") and "weights_only" not in message and len(message) < 200 + len(str(path))


def test_a_text_file_is_not_a_checkpoint(tmp_path):
    from supernets.checkpoint import read_checkpoint

    path = tmp_path / "results.csv"
    path.write_text("arch_id,accuracy\nks:3|e:3,75.0\n")
    with pytest.raises(CheckpointError, match="is corrupt or not a torch file"):
        read_checkpoint(path)


def test_a_directory_is_not_a_checkpoint(tmp_path):
    from supernets.checkpoint import read_checkpoint

    with pytest.raises(CheckpointError, match="is a directory; expected a supernet file"):
        read_checkpoint(tmp_path)


def test_a_restriction_of_the_family_starts_from_the_whole_supernet(net, tmp_path):
    """Fine-tuning on part of a space (``--init`` into ``S[...]``) loads the whole supernet's weights; a
    restriction that shrinks a weight says which one does not fit."""
    torch.manual_seed(0)
    whole = create_supernet("resnet20-pooling")
    path = tmp_path / "whole.pt"
    save_checkpoint(whole, path)
    part = create_supernet("resnet20-pooling[pool=4-3-3/4-2-4]")
    load_weights(part, path)
    for key, value in whole.state_dict().items():
        assert torch.equal(part.state_dict()[key], value)
    save_checkpoint(net, tmp_path / "mbv3.pt")
    with pytest.raises(CheckpointError, match="does not fit supernet ofa-mbv3\\[e=3/4\\]: size mismatch"):
        load_weights(create_supernet("ofa-mbv3[e=3/4]"), tmp_path / "mbv3.pt")
