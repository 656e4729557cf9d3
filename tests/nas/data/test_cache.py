"""JPEG trees are decoded once: later loads read the cached arrays, and a changed source is decoded anew."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
import torch

from nas.data import images as images_module
from nas.data import load_images
from nas.data.cache import cached_path


def _jpeg(seed: int) -> bytes:
    from PIL import Image

    arr = np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")  # lossless, so cached and decoded pixels compare equal
    return buf.getvalue()


def _tar(path, n: int = 6) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for i in range(n):
            for split in ("train", "test"):
                blob = _jpeg(i + (100 if split == "test" else 0))
                info = tarfile.TarInfo(f"{split}/{'cat' if i % 2 else 'dog'}/{i}.png")
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))


def test_decoded_once_then_read_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "pics.tar.gz"
    _tar(source)
    first = load_images(source)
    assert cached_path(source).is_file()

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(images_module, "_decode", no_decoding)
    second = load_images(source)
    assert torch.equal(first.x_train, second.x_train) and torch.equal(first.y_test, second.y_test)
    assert second.classes == ["cat", "dog"] and second.source == str(source)
    _tar(source, n=4)  # the source changes: decoded anew
    with pytest.raises(AssertionError, match="decoded again"):
        load_images(source)


def test_unwritable_cache_only_costs_time(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NAS_CACHE_DIR", str(blocker))
    source = tmp_path / "pics.tar.gz"
    _tar(source)
    assert len(load_images(source).y_train) == 6


def test_a_damaged_cache_entry_is_decoded_again(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "pics.tar.gz"
    _tar(source)
    load_images(source)
    cached_path(source).write_bytes(b"garbage")
    assert len(load_images(source).y_train) == 6
    assert cached_path(source).stat().st_size > 100
