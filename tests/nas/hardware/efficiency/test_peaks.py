"""Peak measurement: positive finite numbers quickly at tiny sizes, cached per threads, re-measured on demand."""

from __future__ import annotations

import json
import math
import os

import pytest

from nas.hardware.efficiency import peaks as peaks_module
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


def test_a_roof_is_the_fastest_call(monkeypatch):
    """Other work only slows a call down, so the roof is the fastest of the timed calls, not their median."""
    ticks = iter([0.0, 3.0, 10.0, 11.0, 20.0, 22.0])  # calls of 3 s, 1 s and 2 s
    monkeypatch.setattr(peaks_module.time, "perf_counter", lambda: next(ticks))
    assert peaks_module._fastest_seconds(lambda: None, 3) == 1.0


def test_the_faster_gemm_library_sets_the_roof(monkeypatch):
    """ONNX Runtime's GEMM sets the roof where it is faster than torch's (whole subnets there ran above torch's
    rate); without it (not installed, or slower) torch's does."""
    monkeypatch.setattr(peaks_module, "_gemm_seconds", lambda n, repeats: 2.0)
    monkeypatch.setattr(peaks_module, "_ort_gemm_seconds", lambda n, repeats, threads: 1.0)
    fast = measure_peaks(1, **TINY)
    assert fast.gemm_library == "onnxruntime" and fast.peak_flops == 2.0 * 32**3 / 1.0
    for other in (None, 3.0):
        monkeypatch.setattr(peaks_module, "_ort_gemm_seconds", lambda n, repeats, threads, t=other: t)
        p = measure_peaks(1, **TINY)
        assert p.gemm_library == "torch" and p.peak_flops == 2.0 * 32**3 / 2.0


def test_a_cache_without_the_statistic_is_measured_again(cache):
    """Roofs cached before they were the fastest call (medians, no ``statistic``) are not reused."""
    first = machine_peaks(1, **TINY)
    doc = json.loads(peaks_path(1).read_text())
    assert doc["peaks"]["statistic"] == "fastest"
    del doc["peaks"]["statistic"]
    peaks_path(1).write_text(json.dumps(doc))
    again = machine_peaks(1, **TINY)
    assert not again.cached and first.statistic == again.statistic == "fastest"


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
