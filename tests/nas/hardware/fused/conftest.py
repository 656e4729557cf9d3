"""The compiled fused kernels, as a fixture for every test here."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def fused():
    """The compiled kernels (built once per machine into the cache dir, loaded once per session)."""
    if shutil.which(os.environ.get("CXX", "c++")) is None:
        pytest.skip("no C++ compiler: the fused kernels cannot be built")
    from nas.hardware import fused as fused_mod

    assert fused_mod.available(), fused_mod.error()
    return fused_mod
