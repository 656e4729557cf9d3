"""Per-kernel efficiency and waterline of subnets on this machine (definitions: ``nas.hardware.efficiency``).

For each subnet: its block-level ops (``space.layers(arch)``) and, for composite ops, their layer
kernels (``Op.layer_ops()``), each with MACs, bytes moved, roofline-ideal time and its time measured
alone (built by ``supernets.static.oplib.build_op``, as ``nas latency profile`` times ops) in every
runtime asked; then the whole subnet (extracted from an untrained supernet: weights do not change
the time) timed end to end in each runtime, next to its two waterlines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from search_spaces import SearchSpace
from search_spaces.errors import InvalidInput
from search_spaces.ops import Op

from .peaks import Peaks
from .runtimes import check_runtimes, get_runtime
from .traffic import FLOPS_PER_MAC, op_traffic

__all__ = ["KernelRow", "SubnetAnalysis", "Analysis", "Settings", "analyze_subnets", "op_class", "check_settings"]


def op_class(op: Op) -> str:
    """The group an op's efficiency is summarized in: conv1x1, conv (kxk), dwconv, se, pool, linear, a block kind."""
    if op.kind == "conv":
        return "conv1x1" if op.kernel == 1 else "conv"
    return op.kind


def _label(op: Op, index: str) -> str:
    text = f"{index} {op.kind}"
    if op.kind in ("conv", "dwconv") or op.is_composite:
        text += f" {op.kernel}x{op.kernel}" + (f"/{op.stride}" if op.stride > 1 else "")
    if op.is_composite and op.mid and op.in_shape[2]:
        text += f" e{op.mid / op.in_shape[2]:.3g}"
    if op.se:
        text += " +se"
    if op.residual:
        text += " +res"
    return text


@dataclass
class KernelRow:
    """One op (``level`` "op") or one layer kernel of a composite op (``level`` "layer")."""

    level: str
    index: str  # "3" for the fourth op, "3.1" for its second layer kernel
    name: str
    kind: str
    op_class: str
    label: str
    in_shape: tuple
    out_shape: tuple
    macs: int
    bytes_layer: int
    bytes_fused: int
    kernels: int
    ideal_layer_ms: float
    ideal_fused_ms: float
    bound: str
    measured_ms: dict[str, float] = field(default_factory=dict)

    def efficiency(self, runtime: str) -> float:
        """Roofline efficiency: ideal time of the layer kernels it runs / measured time."""
        return self.ideal_layer_ms / self.measured_ms[runtime]

    def efficiency_fused(self, runtime: str) -> float:
        """Ideal time as one block-fused kernel / measured time (the headroom fusion could reach)."""
        return self.ideal_fused_ms / self.measured_ms[runtime]

    def arithmetic_efficiency(self, runtime: str, peak_flops: float) -> float:
        """Lavin's computational efficiency: achieved FLOP/s over the peak (latency = ops / (E peak))."""
        return FLOPS_PER_MAC * self.macs / (self.measured_ms[runtime] * 1e-3) / peak_flops

    def to_json(self, runtimes: Sequence[str], peak_flops: float) -> dict:
        d = {k: getattr(self, k) for k in ("level", "index", "name", "kind", "op_class", "label", "macs",
                                            "bytes_layer", "bytes_fused", "kernels", "ideal_layer_ms",
                                            "ideal_fused_ms", "bound")}
        d |= {"in_shape": list(self.in_shape), "out_shape": list(self.out_shape),
              "measured_ms": dict(self.measured_ms),
              "efficiency": {r: self.efficiency(r) for r in runtimes},
              "efficiency_fused": {r: self.efficiency_fused(r) for r in runtimes},
              "arithmetic_efficiency": {r: self.arithmetic_efficiency(r, peak_flops) for r in runtimes}}
        return d


@dataclass
class SubnetAnalysis:
    arch: dict
    arch_id: str
    input_shape: tuple  # (C, H, W)
    ops: list[KernelRow]
    layers: list[KernelRow]  # layer kernels of the composite ops (empty without layer timing)
    latency_ms: dict[str, float]  # measured end to end, per runtime

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.ops)

    @property
    def bytes_layer(self) -> int:
        return sum(r.bytes_layer for r in self.ops)

    @property
    def bytes_fused(self) -> int:
        return sum(r.bytes_fused for r in self.ops)

    @property
    def waterline_layer_ms(self) -> float:
        """Sum over every layer kernel of its roofline time: the latency bound running layer by layer."""
        return sum(r.ideal_layer_ms for r in self.ops)

    @property
    def waterline_fused_ms(self) -> float:
        """Sum over ops of their roofline time with each block fused into one kernel."""
        return sum(r.ideal_fused_ms for r in self.ops)

    def ops_sum_ms(self, runtime: str) -> float:
        return sum(r.measured_ms[runtime] for r in self.ops)

    def totals(self, runtimes: Sequence[str], peak_flops: float) -> dict:
        return {"macs": self.macs, "bytes_layer": self.bytes_layer, "bytes_fused": self.bytes_fused,
                "waterline_layer_ms": self.waterline_layer_ms, "waterline_fused_ms": self.waterline_fused_ms,
                "latency_ms": dict(self.latency_ms),
                "ops_sum_ms": {r: self.ops_sum_ms(r) for r in runtimes},
                "efficiency": {r: self.waterline_layer_ms / self.latency_ms[r] for r in runtimes},
                "efficiency_fused": {r: self.waterline_fused_ms / self.latency_ms[r] for r in runtimes},
                "arithmetic_efficiency": {r: FLOPS_PER_MAC * self.macs / (self.latency_ms[r] * 1e-3) / peak_flops
                                          for r in runtimes},
                "gap_ms": {r: self.latency_ms[r] - self.waterline_layer_ms for r in runtimes}}

    def to_json(self, runtimes: Sequence[str], peak_flops: float) -> dict:
        return {"arch_id": self.arch_id, "arch": self.arch, "input_shape": list(self.input_shape),
                "totals": self.totals(runtimes, peak_flops),
                "ops": [r.to_json(runtimes, peak_flops) for r in self.ops],
                "layers": [r.to_json(runtimes, peak_flops) for r in self.layers]}


@dataclass(frozen=True)
class Settings:
    batch: int = 1
    threads: int = 1
    runtimes: tuple[str, ...] = ("eager", "torchscript")
    warmup: int = 5
    repeats: int = 20
    flush_mb: float | None = None  # cache flush before each timed op (None: half the largest cache)
    layers: bool = True  # also time every layer kernel of the composite ops alone


def check_settings(s: Settings) -> Settings:
    """Every setting checked (``InvalidInput`` naming the option) before anything is measured."""
    from .. import opbench

    runtimes = tuple(check_runtimes(s.runtimes))
    try:
        # the profiler's own checks (batch, threads vs CPUs, warmup, repeats, flush); runtime checked above
        settings = opbench.run_settings("cpu", "eager", s.batch, "float32", s.threads, s.warmup, s.repeats,
                                        s.flush_mb)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if s.threads is None or s.threads < 1:
        raise InvalidInput(f"--threads must be a whole number >= 1, not {s.threads!r}")
    return Settings(s.batch, s.threads, runtimes, s.warmup, s.repeats, settings["flush_mb"], bool(s.layers))


class _Timer:
    """Times modules under the settings; an op seen before (same key) is not timed again."""

    def __init__(self, settings: Settings):
        from .. import opbench

        self.s, self.opbench = settings, opbench
        self.flush = opbench.flush_buffer("cpu", settings.flush_mb)
        self.cache: dict[tuple[str, str], float] = {}

    def time(self, module, x, runtime: str, flush: bool) -> float:
        fn = get_runtime(runtime).prepare(module.eval(), x)
        times = self.opbench.time_module(fn, x, self.s.warmup, self.s.repeats, self.flush if flush else None)
        ms = self.opbench.summarize(times)[0]
        if not (math.isfinite(ms) and ms > 0):
            ms = 1e-6  # a timer resolution floor: efficiencies stay finite
        return ms

    def op(self, op: Op) -> dict[str, float]:
        import torch

        from supernets.static.oplib import build_op

        out = {}
        for runtime in self.s.runtimes:
            key = (op.key, runtime)
            if key not in self.cache:
                module, shape = build_op(op.as_spec(), self.s.batch)
                x = torch.randn(self.s.batch, *shape)
                self.cache[key] = self.time(module, x, runtime, flush=True)
            out[runtime] = self.cache[key]
        return out


def _row(op: Op, level: str, index: str, settings: Settings, peaks: Peaks) -> KernelRow:
    t = op_traffic(op, settings.batch, peaks.peak_flops, peaks.bandwidth)
    return KernelRow(level, index, op.name, op.kind, op_class(op), _label(op, index), tuple(op.in_shape),
                     tuple(op.out_shape), t.macs, t.bytes_layer, t.bytes_fused, t.kernels, t.ideal_layer_ms,
                     t.ideal_fused_ms, t.bound)


def analyze_subnets(space: SearchSpace, archs: Sequence[Mapping[str, Any]], settings: Settings, peaks: Peaks,
                    progress: Callable[[str], None] | None = None) -> list[SubnetAnalysis]:
    """Rows and end-to-end latencies of every arch (already validated against ``space``)."""
    import torch

    from supernets import create_supernet

    from .. import opbench

    say = progress or (lambda text: None)
    shapes = [space.input_shape(a) for a in archs]
    try:
        opbench.check_batch_memory(settings.batch, max(max(s[1:]) for s in shapes), "cpu")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    timer = _Timer(settings)
    supernet = create_supernet(space.family)
    out = []
    with opbench.fixed_threads(settings.threads):
        for n, (arch, shape) in enumerate(zip(archs, shapes)):
            ops = space.layers(arch)
            rows, layer_rows = [], []
            for i, op in enumerate(ops):
                say(f"subnet {n + 1}/{len(archs)}: op {i + 1}/{len(ops)}")
                row = _row(op, "op", str(i), settings, peaks)
                row.measured_ms = timer.op(op)
                rows.append(row)
                if settings.layers and op.is_composite:
                    for j, layer in enumerate(op.layer_ops()):
                        lrow = _row(layer, "layer", f"{i}.{j}", settings, peaks)
                        lrow.measured_ms = timer.op(layer)
                        layer_rows.append(lrow)
            say(f"subnet {n + 1}/{len(archs)}: end to end")
            net = supernet.extract(arch)
            x = torch.randn(settings.batch, *shape)
            latency = {r: timer.time(net, x, r, flush=False) for r in settings.runtimes}
            out.append(SubnetAnalysis(dict(arch), space.arch_id(arch), tuple(shape), rows, layer_rows, latency))
    return out


def summary_by_class(subnets: Sequence[SubnetAnalysis], runtime: str, level: str = "kernel") -> dict[str, dict]:
    """Time-weighted efficiency per op class: sum of ideal / sum of measured. ``level`` "kernel" groups
    the kernels a layer-by-layer runtime launches (the layer rows of blocks and the primitive ops);
    "op" groups the block-level ops."""
    groups: dict[str, dict] = {}
    for sub in subnets:
        by_parent = {r.index.split(".")[0] for r in sub.layers}
        if level == "kernel":
            rows = [r for r in sub.ops if r.index not in by_parent] + list(sub.layers)
        else:
            rows = list(sub.ops)
        for r in rows:
            g = groups.setdefault(r.op_class, {"count": 0, "ideal_ms": 0.0, "ideal_fused_ms": 0.0, "measured_ms": 0.0,
                                               "macs": 0})
            g["count"] += 1
            g["ideal_ms"] += r.ideal_layer_ms
            g["ideal_fused_ms"] += r.ideal_fused_ms
            g["measured_ms"] += r.measured_ms[runtime]
            g["macs"] += r.macs
    for g in groups.values():
        g["efficiency"] = g["ideal_ms"] / g["measured_ms"]
        g["efficiency_fused"] = g["ideal_fused_ms"] / g["measured_ms"]
    return groups


@dataclass
class Analysis:
    """What ``nas.api.analyze`` returns and ``analysis.json`` holds."""

    space: str
    settings: Settings
    peaks: Peaks
    subnets: list[SubnetAnalysis]
    definitions: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)

    def summary_by_class(self, runtime: str, level: str = "kernel") -> dict[str, dict]:
        return summary_by_class(self.subnets, runtime, level)

    def to_json(self) -> dict:
        s = self.settings
        runtimes = list(s.runtimes)
        return {"format": "nas-efficiency-analysis", "space": self.space,
                "settings": {"batch": s.batch, "threads": s.threads, "runtimes": runtimes, "warmup": s.warmup,
                             "repeats": s.repeats, "flush_mb": s.flush_mb, "layers": s.layers, "dtype": "float32",
                             "statistic": "median"},
                "peaks": self.peaks.to_json(), "definitions": dict(self.definitions),
                "summary_by_class": {r: {lvl: self.summary_by_class(r, lvl) for lvl in ("kernel", "op")}
                                     for r in runtimes},
                "subnets": [sub.to_json(runtimes, self.peaks.peak_flops) for sub in self.subnets]}
