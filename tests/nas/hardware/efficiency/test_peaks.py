"""Peak measurement: positive finite numbers quickly at tiny sizes, cached per threads, re-measured on demand."""

from __future__ import annotations

import math
import os

import pytest

from nas.hardware.efficiency.peaks import machine_peaks, measure_peaks, peaks_path
from search_spaces.errors import InvalidInput

TINY = {"gemm_n": 32, "copy_mib": 0.25, "repeats": 2}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_tiny_peaks_are_positive_and_finite():
    p = measure_peaks(1, **TINY)
    for value in (p.peak_flops, p.bandwidth, p.ridge):
        assert math.isfinite(value) and value > 0
    assert p.threads == 1 and p.gemm_n == 32 and not p.cached


def test_peaks_are_cached_per_threads_and_remeasured_on_demand(cache, monkeypatch):
    first = machine_peaks(1, **TINY)
    assert not first.cached and peaks_path(1).is_file() and str(peaks_path(1)).startswith(str(cache))
    again = machine_peaks(1, **TINY)
    assert again.cached and again.peak_flops == first.peak_flops and again.bandwidth == first.bandwidth
    assert not machine_peaks(1, remeasure=True, **TINY).cached
    assert not machine_peaks(1, **(TINY | {"gemm_n": 48})).cached  # other sizes: measured, not the cached ones


def test_a_damaged_cache_is_measured_again(cache):
    path = peaks_path(1)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert not machine_peaks(1, **TINY).cached


@pytest.mark.parametrize("kwargs, option", [({"gemm_n": 0}, "--gemm-n"), ({"copy_mib": 0}, "--copy-mib"),
                                            ({"copy_mib": float("inf")}, "--copy-mib"),
                                            ({"repeats": 0}, "--peak-repeats"), ({"threads": 0}, "--threads")])
def test_bad_sizes_are_refused(kwargs, option):
    args = TINY | kwargs
    threads = args.pop("threads", 1)
    with pytest.raises(InvalidInput, match=option):
        measure_peaks(threads, **args)


def test_threads_beyond_the_cpus_are_refused(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    with pytest.raises(InvalidInput, match="exceeds the 2 CPUs"):
        measure_peaks(3, **TINY)
