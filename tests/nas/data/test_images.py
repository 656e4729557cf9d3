"""Hostile data sets (issue 17): sizes beyond memory, a named pipe, a corrupt image in a .tar.gz, a tar member
of 3 GiB; each one ``InvalidInput`` line, found before anything large is allocated or read."""

from __future__ import annotations

import gzip
import io
import os
import tarfile

import numpy as np
import pytest
from typer.testing import CliRunner

from nas.cli import app
from nas.data.images import MAX_IMAGE_BYTES, load_images
from search_spaces.errors import InvalidInput


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("spec", ["synthetic:n_train=100000000000", "synthetic:size=100000",
                                  "synthetic:classes=100000000000"])
def test_synthetic_sizes_beyond_memory_are_refused_before_allocating(spec):
    with pytest.raises(InvalidInput, match=r"^synthetic data n_train=.* needs about .* of memory, more than the .* "
                                           r"this machine has available"):
        load_images(spec)


def test_synthetic_seed_out_of_range_is_named():
    with pytest.raises(InvalidInput, match="synthetic data option seed must be an integer from 0 to"):
        load_images("synthetic:seed=-1")


def test_train_on_data_beyond_memory_or_a_pipe_writes_no_run_directory(tmp_path):
    os.mkfifo(tmp_path / "pipe.npz")
    for data, words in [("synthetic:n_train=100000000000", "of memory"),
                        (str(tmp_path / "pipe.npz"), "is not a regular file: it is a named pipe")]:
        result = CliRunner().invoke(app, ["train", "--space", "ofa-mbv3-cifar", "--strategy", "sandwich", "--data",
                                          data, "--epochs", "1", "--out", str(tmp_path / "run")])
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(lines) == 1 and words in lines[0], result.output
        assert not (tmp_path / "run").exists()


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, blob: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(blob)
    tar.addfile(info, io.BytesIO(blob))


def test_a_corrupt_image_in_a_tar_is_named_by_its_member(tmp_path):
    with tarfile.open(tmp_path / "d.tar.gz", "w:gz") as tar:
        for name in ("train/a/0.png", "train/b/0.png"):
            _add(tar, name, _png())
        _add(tar, "train/b/bad.png", b"not an image")
    with pytest.raises(InvalidInput, match=r"image .*d\.tar\.gz:train/b/bad\.png cannot be decoded \(not an image"):
        load_images(tmp_path / "d.tar.gz")


def test_a_huge_tar_member_is_refused_from_its_header(tmp_path):
    header = tarfile.TarInfo("train/a/big.png")
    header.size = 3 << 30  # a header alone: nothing of the 3 GiB is there to read, nor may be read
    (tmp_path / "big.tar.gz").write_bytes(gzip.compress(header.tobuf()))
    with pytest.raises(InvalidInput, match=rf"big\.png is 3\.0 GiB, more than the {MAX_IMAGE_BYTES >> 20}\.0 MiB"):
        load_images(tmp_path / "big.tar.gz")
