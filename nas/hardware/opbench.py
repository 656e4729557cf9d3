"""Measure per-op latencies on the device you run it on. Needs only torch (and the standard library).

This file is self-contained on purpose: ``nas latency profile --emit-specs DIR/specs.json`` writes the
spec file and this profiler's kit (``opbench.py``, ``oplib.py`` that builds every op kind, ``transformer.py``
with the token ops' builders, ``fileio.py`` for atomic writes) into DIR; copy DIR to a Jetson, a phone build
host or any machine with torch and run

    python opbench.py specs.json --out table.csv --device cuda --runtime torchscript

then copy ``table.csv`` back and search with ``nas search --target table.csv``. Runtimes here: ``eager``,
``torchscript`` and ``onnxruntime`` (needs ``onnx``, ``onnxscript`` and ``onnxruntime`` on the device, imported
only when asked for). ``fused`` (the engine's C++ block kernels) and ``aoti`` (AOTInductor) run only inside the
engine (``nas latency profile --runtime fused|aoti``). Every measured op is
appended to ``table.csv.partial`` as soon as it is timed, so an interrupted run resumes without
re-measuring anything; the finished table replaces ``table.csv`` atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as _dt
import io
import json
import numbers
import os
import platform
import statistics
import sys
import time
import warnings
from typing import Any, Callable, Iterable, Iterator

import torch
from torch import nn

if __package__:  # imported from the engine
    from search_spaces.errors import InvalidInput as _Refused  # a ValueError: the engine's one-line error
    from search_spaces.fileio import atomic_path
    from supernets.static.oplib import build_op
else:  # run as the device kit: its other files sit beside this one
    import transformer  # noqa: F401  (registers the token-op builders with oplib)
    from fileio import atomic_path
    from oplib import build_op

    _Refused = ValueError

__all__ = ["TABLE_FORMAT", "COLUMNS", "build_op", "prepare", "time_module", "flush_buffer", "stable_allocator",
           "fixed_threads", "check_threads", "measure_specs", "check_device", "run_settings", "profile", "device_name",
           "write_table", "read_rows", "main"]

TABLE_FORMAT = "nas-latency-table"
SPEC_FIELDS = ["key", "kind", "in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "kernel", "stride", "mid", "se",
               "act", "bn", "residual", "fused"]
#: ``resolution``: the network input resolution an entry was measured in (blank: valid in any network)
COLUMNS = SPEC_FIELDS + ["latency_ms", "spread_ms", "count", "resolution"]
#: runtimes this file runs on its own (the device kit): onnxruntime is imported only when asked for
KIT_RUNTIMES = ("eager", "torchscript", "onnxruntime")
#: runtimes that need the engine (its fused kernels, its AOTInductor packaging); see nas/hardware/runtimes.py
ENGINE_RUNTIMES = ("aoti", "fused")
RUNTIMES = KIT_RUNTIMES + ENGINE_RUNTIMES if __package__ else KIT_RUNTIMES
#: ``int8``: the int8 layers of an ``S+q`` space (their specs say ``precision: int8``) on oneDNN's int8 kernels,
#: every other op and the tensors between ops fp32 (CPU, eager or TorchScript)
DTYPES = ("float32", "float16", "int8")
INT8_RUNTIMES = ("eager", "torchscript")
#: most timed (and warm-up) calls per op: a median over more moves nothing, and 10**12 would never finish
MAX_REPEATS = 100_000
MAX_WARMUP = 100_000


def _load_json(text: str, what: str) -> Any:
    """JSON, or ``ValueError`` naming ``what``; this kit runs without the engine, so it has its own guard against
    a deeply nested document (Python's parser recurses and would raise RecursionError)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{what} is JSON nested too deeply to read") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise ValueError(f"{what} is not JSON ({exc})") from None


def prepare(module: nn.Module, runtime: str, example: torch.Tensor,
            threads: int | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """The callable a deployment runs: eager, TorchScript scripted and frozen (conv+BN folded), an ONNX
    Runtime session (``threads`` intra-op threads) or, in the engine, its other runtimes
    (``nas/hardware/runtimes.py``: aoti, fused)."""
    module = module.eval()
    if runtime == "eager":
        return module
    if runtime == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scripted = torch.jit.freeze(torch.jit.script(module))
        return scripted
    if __package__ and runtime in RUNTIMES:  # the engine's registry: one implementation of each runtime
        from .runtimes import prepare as engine_prepare

        return engine_prepare(runtime, module, example, threads)
    if runtime == "onnxruntime":
        return _kit_onnxruntime(module, example, threads)
    if runtime in ENGINE_RUNTIMES:
        raise ValueError(f"runtime {runtime!r} runs only inside the engine (nas latency profile --runtime {runtime}); "
                         f"this kit runs {', '.join(KIT_RUNTIMES)}")
    raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")


def _kit_onnxruntime(module: nn.Module, example: torch.Tensor, threads: int | None):
    """ONNX Runtime without the engine: the module (its BN left to ORT's own folding) exported with the
    dynamo exporter, a session at ORT_ENABLE_ALL."""
    try:
        import onnxruntime as ort
        import onnxscript  # noqa: F401  (the dynamo exporter needs it)
    except ImportError as exc:
        raise ValueError(f"runtime onnxruntime needs {exc.name}: pip install onnx onnxscript onnxruntime") from None
    import tempfile

    with tempfile.TemporaryDirectory(prefix="opbench-ort-") as folder:
        path = os.path.join(folder, "op.onnx")
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (example,), dynamo=True, input_names=["input"]).save(path, external_data=False)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = int(threads)
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {name: x.detach().contiguous().cpu().numpy()})[0])

    return run


# ----------------------------------------------------------------------------- timing
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_module(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, warmup: int, repeats: int,
                flush: torch.Tensor | None = None) -> list[float]:
    """Per-call wall times in ms after ``warmup`` calls (each call synchronized on GPUs).

    With ``flush`` (a CPU buffer larger than the caches hold for one layer), every timed call starts
    with the buffer rewritten and the input touched: the layer's weights are then as cold as in a
    whole-network run (where every other layer passes through the caches in between) while its input
    is as hot as a freshly computed activation. Without it, isolated layers run from warm caches and
    their sum underestimates whole networks by 10-40% on CPUs.
    """
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            fn(x)
        _sync(x.device)
        for _ in range(repeats):
            if flush is not None:
                flush.add_(1.0)
                x.mul_(1.0)
            start = time.perf_counter()
            fn(x)
            _sync(x.device)
            times.append((time.perf_counter() - start) * 1e3)
    return times


def flush_buffer(device: str, megabytes: float) -> torch.Tensor | None:
    if megabytes <= 0 or not device.startswith("cpu"):
        return None
    return torch.zeros(int(megabytes * 2**20) // 4)


def default_flush_mb() -> float:
    """Half the largest CPU cache: about the traffic one MobileNet-sized inference puts between two
    uses of a layer's weights (16 MB on a 32 MB-L3 server core). Calibrated end to end afterwards."""
    sizes = []
    for index in range(8):
        try:
            with open(f"/sys/devices/system/cpu/cpu0/cache/index{index}/size") as f:
                text = f.read().strip()
        except OSError:
            continue
        unit = {"K": 2**-10, "M": 1.0, "G": 2**10}.get(text[-1:].upper(), 2**-20)
        sizes.append(float(text.rstrip("KMGkmg")) * unit)
    return max(sizes) / 2 if sizes else 16.0


def stable_allocator() -> bool:
    """Raise glibc's mmap threshold so large activations are reused, not page-faulted in on every call.

    By default glibc serves big allocations with fresh ``mmap`` pages and adapts the threshold as
    it goes, which makes the same layer run 1x or 2-3x slower depending on allocation history.
    Returns whether it applied (glibc only).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 1 << 30)) and bool(libc.mallopt(m_trim_threshold, 1 << 30))
    except (OSError, AttributeError):
        return False


def summarize(times: list[float]) -> tuple[float, float]:
    """Median and inter-quartile range (ms)."""
    q = statistics.quantiles(times, n=4, method="inclusive") if len(times) > 1 else [times[0]] * 3
    return statistics.median(times), q[2] - q[0]


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{model or platform.processor() or platform.machine()} ({os.cpu_count()} logical cores)"


@contextlib.contextmanager
def fixed_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` intra-op threads, restoring the caller's setting afterwards."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def measure_specs(specs: list[dict], *, device: str = "cpu", runtime: str = "torchscript", batch: int = 1,
                  dtype: str = "float32", warmup: int = 10, repeats: int = 30, flush_mb: float = 16.0,
                  threads: int | None = None,
                  on_row: Callable[[dict], None] | None = None,
                  progress: Callable[[int], None] | None = None) -> list[dict]:
    """Time every spec; each finished row goes to ``on_row`` at once (the journal that makes runs resumable)."""
    dev = torch.device(device)
    torch_dtype = torch.float32 if dtype == "int8" else getattr(torch, dtype)  # int8 ops take fp32 tensors
    flush = flush_buffer(device, flush_mb)
    rows = []
    with fixed_threads(threads):
        for spec in specs:
            module, shape = build_op(spec, batch)
            if dtype != "int8":  # int8 ops hold oneDNN's packed weights, which .to() cannot move
                module = module.to(dev, torch_dtype)
            x = torch.randn(batch, *shape, device=dev, dtype=torch_dtype)
            fn = prepare(module, runtime, x, threads)
            median, spread = summarize(time_module(fn, x, warmup, repeats, flush))
            row = {f: spec[f] for f in SPEC_FIELDS} | {"latency_ms": median, "spread_ms": spread, "count": repeats}
            rows.append(row)
            if on_row is not None:
                on_row(row)
            if progress is not None:
                progress(1)
    return rows


# ----------------------------------------------------------------------------- files
def metadata_line(metadata: dict) -> str:
    return f"# {TABLE_FORMAT} " + json.dumps(metadata, sort_keys=True) + "\n"


def read_rows(path: str) -> tuple[dict | None, list[dict]]:
    """Metadata and complete rows of a table or journal; a torn last line (a killed run) is dropped."""
    if not os.path.exists(path):
        return None, []
    with open(path, newline="") as f:
        text = f.read()
    first, _, rest = text.partition("\n")
    meta = None
    if first.startswith(f"# {TABLE_FORMAT} "):
        try:
            meta = _load_json(first[len(TABLE_FORMAT) + 3:], "its metadata")
        except ValueError:
            meta = None
        if not isinstance(meta, dict):
            raise ValueError(f"{path} has corrupt metadata on its first line; delete it to measure again")
    elif text.strip():
        raise ValueError(f"{path} is not a latency table or journal (its first line must be "
                         f"'# {TABLE_FORMAT} {{metadata}}'); move it away or pick another --out")
    else:
        rest = text
    if not text.endswith("\n"):
        rest = rest[: rest.rfind("\n") + 1]
    rows = [r for r in csv.DictReader(io.StringIO(rest)) if None not in r.values() and r.get("count")]
    if rows and not rows[0].get("key"):
        raise ValueError(f"{path} is corrupt: its rows have no 'key' column; delete it to measure again")
    return meta, rows


def write_table(path: str, metadata: dict, rows: Iterable[dict]) -> None:
    """Write a table atomically: a temp file beside ``path``, then one rename."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            f.write(metadata_line(metadata))
            writer = csv.DictWriter(f, COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for row in sorted(rows, key=lambda r: r["key"]):
                writer.writerow(row)


class Journal:
    """Append-only ``<out>.partial``: one flushed CSV row per measured op. The file is opened with the
    first row, so a run that fails before measuring anything (a bad device, say) leaves no journal."""

    def __init__(self, path: str, metadata: dict):
        self.path, self.metadata = path, metadata
        self.file = None

    def _open(self) -> None:
        path = self.path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fresh = not os.path.exists(path) or os.path.getsize(path) == 0
        if not fresh:  # drop a torn last line before appending
            with open(path, "rb+") as f:
                data = f.read()
                f.truncate(data.rfind(b"\n") + 1)
        self.file = open(path, "a", newline="")
        self.writer = csv.DictWriter(self.file, COLUMNS, extrasaction="ignore")
        if fresh:
            self.file.write(metadata_line(self.metadata))
            self.writer.writeheader()
            self.file.flush()

    def __call__(self, row: dict) -> None:
        if self.file is None:
            self._open()
        self.writer.writerow(row)
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def _cuda_devices() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _allowed_devices(n_cuda: int) -> str:
    if not n_cuda:
        return "cpu (torch here has no CUDA device)"
    return "cpu, cuda, " + ("cuda:0" if n_cuda == 1 else f"cuda:0 .. cuda:{n_cuda - 1}")


def check_device(device: str) -> str:
    """``device`` when torch here can run on it (cpu, cuda, cuda:N), else ``ValueError`` naming the allowed ones."""
    n_cuda = _cuda_devices()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda") or (dev.type == "cpu" and dev.index not in (None, 0)):
        raise ValueError(f"unknown device {device!r}; allowed: {_allowed_devices(n_cuda)}")
    if dev.type == "cuda" and (not n_cuda or (dev.index or 0) >= n_cuda):
        raise ValueError(f"device {device!r} is not available here; allowed: {_allowed_devices(n_cuda)}")
    return device


def _check_numbers(batch: int, threads: int | None, warmup: int, repeats: int, flush_mb: float | None) -> None:
    def whole(value) -> bool:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)

    for option, value, low in (("--batch", batch, 1), ("--warmup", warmup, 0), ("--repeats", repeats, 1),
                               ("--threads", 0 if threads is None else threads, 0)):
        if not whole(value) or value < low:
            raise ValueError(f"{option} must be a whole number >= {low}, not {value!r}"
                             + (" (0: torch's default)" if option == "--threads" else ""))
    for option, value, high in (("--warmup", warmup, MAX_WARMUP), ("--repeats", repeats, MAX_REPEATS)):
        if value > high:
            raise ValueError(f"{option} must be at most {high} calls per op, not {value}")
    if flush_mb is not None:
        try:
            ok = float(flush_mb) >= 0 and float(flush_mb) != float("inf")
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"--flush-mb must be a number of megabytes >= 0 (0: no cache flush), not {flush_mb!r}")
    check_threads(threads, " (0: torch's default)")
    ram_mb = _ram_mb()
    if ram_mb is not None and flush_mb is not None and float(flush_mb) > ram_mb / 2:
        raise ValueError(f"--flush-mb {flush_mb} exceeds half of this machine's {ram_mb:.0f} MB of memory; "
                         "a flush buffer a few times the last-level cache is enough")


def check_threads(threads: int | None, hint: str = "") -> None:
    """Refuse more threads than this machine has CPUs: torch segfaults at 100000 and crawls at 10000.
    The one check for every ``--threads`` (train, evaluate, profile); raises ``InvalidInput`` in the engine."""
    cpus = os.cpu_count() or 1
    if threads is not None and threads > cpus:
        raise _Refused(f"--threads {threads} exceeds the {cpus} CPUs of this machine{hint}")


def _ram_mb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (AttributeError, ValueError, OSError):  # not on Linux: no check
        return None


def check_batch_memory(batch: int, resolution: int, device: str) -> None:
    """Refuse a CPU batch whose activations cannot fit in memory (the largest block of a mobile network holds
    about 32 input images' worth of activations), instead of swapping for hours or dying without a word."""
    ram_mb = _ram_mb()
    need_mb = batch * 3 * resolution * resolution * 4 * 32 / 2**20
    if device.startswith("cpu") and ram_mb is not None and need_mb > ram_mb / 2:
        raise ValueError(f"--batch {batch} at resolution {resolution} needs about {need_mb:.0f} MB of activations, "
                         f"more than half of this machine's {ram_mb:.0f} MB; use a smaller --batch")


def run_settings(device: str, runtime: str, batch: int, dtype: str, threads: int | None, warmup: int,
                 repeats: int, flush_mb: float | None = None) -> dict:
    """The measurement conditions every table records (threads are fixed while measuring, then restored).

    Checks them all first (``ValueError`` naming the option and what it allows), so a bad setting fails
    before anything is measured or written.
    """
    if runtime not in RUNTIMES:
        if runtime in ENGINE_RUNTIMES:
            raise ValueError(f"runtime {runtime!r} runs only inside the engine (nas latency profile --runtime "
                             f"{runtime}); this kit runs {', '.join(KIT_RUNTIMES)}")
        raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
    if __package__ and runtime not in ("eager", "torchscript"):
        from .runtimes import require

        require(runtime)  # one line naming what to install, before anything is measured
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; known: {', '.join(DTYPES)}")
    if dtype == "int8" and (not device.startswith("cpu") or runtime not in INT8_RUNTIMES):
        raise ValueError(f"dtype int8 runs oneDNN's int8 kernels on the CPU in runtime {' or '.join(INT8_RUNTIMES)}; "
                         f"got device {device!r}, runtime {runtime!r}")
    check_device(device)
    _check_numbers(batch, threads, warmup, repeats, flush_mb)
    cpu = device.startswith("cpu")
    flush_mb = (default_flush_mb() if cpu else 0.0) if flush_mb is None else float(flush_mb)
    return {"device": device_name(device), "torch_device": "cpu" if cpu else device, "runtime": runtime,
            "batch_size": batch, "dtype": dtype, "threads": threads or torch.get_num_threads(), "warmup": warmup,
            "repeats": repeats, "flush_mb": flush_mb if cpu else 0.0,
            "allocator": "glibc mmap threshold raised" if cpu and stable_allocator() else "default",
            "torch": torch.__version__, "statistic": "median", "spread": "inter-quartile range"}


def profile(specs: list[dict], out: str, metadata: dict, settings: dict,
            progress_factory: Callable[[int, int], Any] | None = None) -> tuple[dict, list[dict], int]:
    """Measure the specs ``out`` (and its journal) lack; returns (metadata, all rows, newly measured)."""
    journal_path = out + ".partial"
    int8 = next((s["key"] for s in specs if s.get("precision") == "int8"), None)
    if int8 is not None and settings["dtype"] != "int8":
        raise ValueError(f"the specs hold int8 layers (e.g. {int8}), which dtype {settings['dtype']} cannot run; "
                         f"profile them with --dtype int8")
    meta = dict(metadata) | settings | {"kind": "measured"}
    for path in (out, journal_path):
        old_meta, _ = read_rows(path)
        if old_meta is not None:
            mismatch = [k for k in ("device", "runtime", "batch_size", "dtype", "threads", "fusion", "flush_mb")
                        if k in old_meta and k in meta and old_meta[k] != meta[k]]
            if mismatch:
                k = mismatch[0]
                raise ValueError(f"{path} was measured with {k}={old_meta[k]!r}, not {meta[k]!r}; "
                                 f"use another --out or the same settings")
    done = {r["key"]: r for path in (out, journal_path) for r in read_rows(path)[1]}
    todo = [s for s in specs if s["key"] not in done]
    if todo:  # here, so that this script on a device checks it too
        check_batch_memory(settings["batch_size"], max(max(int(s["in_h"]), int(s["in_w"])) for s in todo),
                           settings["torch_device"])
    if todo:
        journal = Journal(journal_path, meta)
        bar = progress_factory(len(todo), len(done)) if progress_factory else None
        try:
            measure_specs(todo, device=settings["torch_device"], runtime=settings["runtime"],
                          batch=settings["batch_size"], dtype=settings["dtype"], warmup=settings["warmup"],
                          repeats=settings["repeats"], flush_mb=settings["flush_mb"], threads=settings["threads"],
                          on_row=journal, progress=bar)
        finally:
            journal.close()
            if bar is not None and hasattr(bar, "close"):
                bar.close()
        done.update({r["key"]: r for r in read_rows(journal_path)[1]})
    old_meta = read_rows(out)[0] or {}
    spaces = sorted(set(old_meta.get("spaces", [])) | set(meta.get("spaces", [])))
    meta |= {"spaces": spaces, "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    write_table(out, meta, done.values())
    if os.path.exists(journal_path):
        os.unlink(journal_path)
    return meta, list(done.values()), len(todo)


class _TextProgress:
    """A plain progress line for machines without rich."""

    def __init__(self, total: int, done: int):
        self.total, self.n, self.last = total, 0, 0.0
        if done:
            print(f"resuming: {done} ops already measured", file=sys.stderr)

    def __call__(self, k: int) -> None:
        self.n += k
        if time.time() - self.last > 1 or self.n == self.total:
            self.last = time.time()
            print(f"\rprofiling {self.n}/{self.total} ops", end="" if self.n < self.total else "\n", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Measure per-op latencies for a nas latency table (needs only torch).")
    p.add_argument("specs", help="spec file written by `nas latency profile --emit-specs`")
    p.add_argument("--out", required=True, help="table CSV to write (resumes from OUT.partial)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--runtime", default="torchscript", choices=RUNTIMES,
                   help="eager, torchscript or onnxruntime (needs onnx, onnxscript, onnxruntime); fused and aoti "
                        "run only in the engine: nas latency profile --runtime fused|aoti")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--dtype", default="float32", choices=list(DTYPES))
    p.add_argument("--threads", type=int, default=1, help="CPU threads (recorded; 0: torch's default)")
    p.add_argument("--flush-mb", type=float, default=None,
                   help="cache flush before each timed call (CPU default: half the largest cache)")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args(argv)
    try:
        with open(args.specs) as f:
            doc = _load_json(f.read(), "the file")
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {args.specs}: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    if not isinstance(doc, dict) or doc.get("format") != "nas-op-specs":
        print(f"error: {args.specs} is not a spec file written by `nas latency profile --emit-specs`", file=sys.stderr)
        return 2
    try:
        settings = run_settings(args.device, args.runtime, args.batch, args.dtype, args.threads or None,
                                args.warmup, args.repeats, args.flush_mb)
        meta, rows, new = profile(doc["specs"], args.out, doc["metadata"], settings, _TextProgress)
    except ValueError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {len(rows)} ops ({new} measured now) on {meta['device']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
