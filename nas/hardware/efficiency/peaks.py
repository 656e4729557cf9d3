"""This machine's roofs: peak fp32 arithmetic rate and DRAM bandwidth, measured and cached.

* **Peak arithmetic rate**: an ``n x n`` by ``n x n`` fp32 GEMM (``n = 2048`` by default),
  ``2 n^3`` FLOPs per call (one MAC = 2 FLOPs), the fastest of ``repeats`` timed calls after one
  warm-up, at the intra-op thread count asked.
* **Memory bandwidth**: ``dst.copy_(src)`` of two ``copy_mib`` MiB fp32 buffers (256 MiB by default,
  far beyond any cache), counting ``2 x copy_mib`` MiB moved per call (the read and the write), the
  fastest of ``repeats`` calls.

A roof is the fastest call, not the median: it is what the machine can do, and on a shared machine other
work only ever slows a call down (a median roof measured at load 2 sat at half the GEMM rate, below what
ONNX Runtime then reached on a whole subnet).

Both are attainable rates, not datasheet numbers. The GEMM is also timed in ONNX Runtime where it is
installed, and the faster library sets the roof: on an AMD EPYC with AVX-512, torch's MKL GEMM reached
95 GFLOP/s on one thread and ONNX Runtime's 181, and ONNX Runtime ran whole subnets above torch's rate,
so a torch-only roof would not bound them. Bandwidth is torch's copy loop. Both are cached per machine
(CPU model), thread count, torch version and sizes in ``nas.io.cache_dir()/peaks/`` and re-measured with
``remeasure``.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from search_spaces.errors import InvalidInput

from ...io import cache_dir, read_json, write_json

__all__ = ["Peaks", "measure_peaks", "machine_peaks", "peaks_path", "GEMM_N", "COPY_MIB", "REPEATS"]

GEMM_N = 2048
COPY_MIB = 256
REPEATS = 5
FORMAT = "nas-device-peaks"


@dataclass(frozen=True)
class Peaks:
    peak_flops: float  # FLOP/s (fp32 GEMM)
    bandwidth: float  # bytes/s (copy, read + write)
    threads: int
    device: str
    gemm_n: int
    copy_mib: float
    repeats: int
    torch: str
    measured: str  # UTC date
    statistic: str = "fastest"  # of the timed calls; caches written before it was recorded are re-measured
    gemm_library: str = "torch"  # whose GEMM set peak_flops (the faster of torch and ONNX Runtime)
    cached: bool = False  # read from the cache rather than measured now

    @property
    def ridge(self) -> float:
        """FLOPs per byte where the two roofs meet."""
        return self.peak_flops / self.bandwidth

    def to_json(self) -> dict:
        d = asdict(self)
        d["ridge_flops_per_byte"] = self.ridge
        return d


def _whole(value, low: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidInput(f"{what} must be a whole number >= {low}, not {value!r}")
    return value


def _check(threads: int, gemm_n: int, copy_mib: float, repeats: int) -> None:
    from ..opbench import check_threads

    _whole(threads, 1, "--threads")
    check_threads(threads)
    _whole(gemm_n, 1, "--gemm-n")
    if gemm_n > 16384:
        raise InvalidInput(f"--gemm-n {gemm_n} needs {3 * 4 * gemm_n**2 / 2**30:.0f} GiB; at most 16384")
    if isinstance(copy_mib, bool) or not isinstance(copy_mib, (int, float)) or not (0 < copy_mib <= 8192) \
            or not math.isfinite(copy_mib):
        raise InvalidInput(f"--copy-mib must be a number of MiB in (0, 8192], not {copy_mib!r}")
    _whole(repeats, 1, "--peak-repeats")
    if repeats > 1000:
        raise InvalidInput(f"--peak-repeats must be at most 1000, not {repeats}")


def _fastest_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: page faults, thread pool, GEMM packing buffers
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return max(min(times), 1e-9)


def _gemm_seconds(n: int, repeats: int) -> float:
    import torch

    a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
    return _fastest_seconds(lambda: torch.mm(a, b, out=c), repeats)


def _ort_gemm_seconds(n: int, repeats: int, threads: int) -> float | None:
    """The same GEMM in ONNX Runtime (its own MLAS kernels), or None where it is not installed."""
    try:
        import numpy as np
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError:
        return None
    io = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [n, n]) for name in "abc"]
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "gemm", io[:2], io[2:])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every ONNX Runtime the export extra allows
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {"a": rng.standard_normal((n, n), dtype=np.float32), "b": rng.standard_normal((n, n), dtype=np.float32)}
    return _fastest_seconds(lambda: session.run(None, feed), repeats)


def _copy_seconds(elements: int, repeats: int) -> float:
    import torch

    src, dst = torch.ones(elements), torch.zeros(elements)
    return _fastest_seconds(lambda: dst.copy_(src), repeats)


def measure_peaks(threads: int = 1, *, gemm_n: int = GEMM_N, copy_mib: float = COPY_MIB,
                  repeats: int = REPEATS) -> Peaks:
    """Measure both roofs now (a few seconds at the default sizes; tiny sizes for tests)."""
    import datetime as _dt

    import torch

    from ..opbench import device_name, fixed_threads

    _check(threads, gemm_n, copy_mib, repeats)
    with fixed_threads(threads), torch.inference_mode():
        gemm_s, library = _gemm_seconds(gemm_n, repeats), "torch"
        ort_s = _ort_gemm_seconds(gemm_n, repeats, threads)
        if ort_s is not None and ort_s < gemm_s:
            gemm_s, library = ort_s, "onnxruntime"
        n = max(1, int(copy_mib * 2**20) // 4)
        copy_s = _copy_seconds(n, repeats)
    return Peaks(peak_flops=2.0 * gemm_n**3 / gemm_s, bandwidth=2.0 * 4 * n / copy_s, threads=threads,
                 device=device_name("cpu"), gemm_n=gemm_n, copy_mib=float(copy_mib), repeats=repeats,
                 torch=torch.__version__,
                 measured=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), gemm_library=library)


def peaks_path(threads: int) -> Path:
    from ..opbench import device_name

    slug = re.sub(r"[^a-z0-9]+", "-", device_name("cpu").lower()).strip("-")[:60]
    return cache_dir() / "peaks" / f"cpu-{slug}-t{threads}.json"


def _read_cached(path: Path, threads: int, gemm_n: int, copy_mib: float, repeats: int) -> Peaks | None:
    import torch

    try:
        doc = read_json(path)
    except (OSError, ValueError):
        return None  # missing or damaged: measure again (the cache holds only what can be rebuilt)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return None
    p = doc.get("peaks")
    try:
        peaks = Peaks(**{k: p[k] for k in Peaks.__dataclass_fields__ if k != "cached"}, cached=True)
    except (KeyError, TypeError):
        return None
    if (peaks.threads, peaks.gemm_n, float(peaks.copy_mib), peaks.repeats, peaks.torch, peaks.statistic) != \
            (threads, gemm_n, float(copy_mib), repeats, torch.__version__, "fastest"):
        return None
    if not all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in (peaks.peak_flops, peaks.bandwidth)):
        return None
    return peaks


def machine_peaks(threads: int = 1, *, remeasure: bool = False, gemm_n: int = GEMM_N, copy_mib: float = COPY_MIB,
                  repeats: int = REPEATS) -> Peaks:
    """The cached roofs of this machine at ``threads`` (measured on first use, or with ``remeasure``)."""
    _check(threads, gemm_n, copy_mib, repeats)
    path = peaks_path(threads)
    if not remeasure:
        cached = _read_cached(path, threads, gemm_n, copy_mib, repeats)
        if cached is not None:
            return cached
    peaks = measure_peaks(threads, gemm_n=gemm_n, copy_mib=copy_mib, repeats=repeats)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, {"format": FORMAT, "peaks": {k: v for k, v in asdict(peaks).items() if k != "cached"}})
    except OSError:
        pass  # an unwritable cache only costs a re-measurement next time
    return peaks
