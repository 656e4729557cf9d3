"""Roofline-style latency models of a device: per kernel kind a launch overhead, a compute throughput
and a memory bandwidth, ``t = overhead + MACs / throughput + bytes / bandwidth``.

The additive form (rather than a hard ``max``) fits measured TensorRT layers better: small kernels
are neither purely compute- nor purely memory-bound. Used where a device's per-layer timings exist
for one network but not for the ops a search space needs (the Jetson Orin Nano target): fit on the
measured layers, check leave-one-out, then evaluate on the op specs of the space. Bytes count fp32
activations in and out plus weights (the fitted bandwidth absorbs the real precision and caching).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy.optimize import least_squares

from search_spaces.errors import InvalidInput

from .opspec import Op

__all__ = ["Kernel", "kernels_of", "KERNEL_RULES", "register_kernels", "RooflineParams", "fit_roofline",
           "fit_bandwidth", "predict_kernels", "BYTES_PER_ELEMENT"]

BYTES_PER_ELEMENT = 4


@dataclass(frozen=True)
class Kernel:
    """One launched kernel: its roofline kind, multiply-accumulates and bytes moved."""

    kind: str  # pw (1x1 conv), dw (depthwise), conv (dense kxk), linear (matmul), reduce, eltwise
    macs: float
    bytes: float


def _elems(shape: Sequence[int]) -> int:
    return int(np.prod(shape))


#: op kind -> the kernels an op of that kind launches; kinds outside the CNN primitives below register theirs
KERNEL_RULES: dict[str, Callable[[Op], tuple[Kernel, ...]]] = {}


def register_kernels(kind: str):
    def deco(rule: Callable[[Op], tuple[Kernel, ...]]) -> Callable[[Op], tuple[Kernel, ...]]:
        if kind in KERNEL_RULES:
            raise InvalidInput(f"op kind {kind!r} already has a roofline kernel rule")
        KERNEL_RULES[kind] = rule
        return rule

    return deco


def kernels_of(op: Op) -> tuple[Kernel, ...]:
    """The kernels a ``layer``-fused op launches (squeeze-excite launches four). Pooling windows (max or
    average) are costed like a depthwise conv of the same window: one comparison or add per MAC, no
    weights, the same memory traffic."""
    if op.kind in KERNEL_RULES:
        return KERNEL_RULES[op.kind](op)
    b = BYTES_PER_ELEMENT
    i, o = _elems(op.in_shape), _elems(op.out_shape)
    cin, cout = op.in_shape[2], op.out_shape[2]
    if op.kind in ("conv", "dwconv"):
        per_out = 1 if op.kind == "dwconv" else cin
        weights = cout * per_out * op.kernel**2
        act_bytes = (i + o + (o if op.residual else 0)) * b
        if op.kind == "dwconv":
            kind = "dw"
        elif op.in_shape[:2] == (1, 1) and op.kernel == 1:
            kind = "linear"  # a 1x1 conv on a 1x1 map is a matrix-vector product
        else:
            kind = "pw" if op.kernel == 1 else "conv"
        return (Kernel(kind, float(op.work), float(act_bytes + weights * b)),)
    if op.kind == "linear":
        return (Kernel("linear", float(cin * cout), float((cin + cout + cin * cout + cout) * b)),)
    if op.kind == "pool":
        return (Kernel("reduce", float(i), float((i + cout) * b)),)
    if op.kind in ("maxpool", "avgpool"):
        return (Kernel("dw", float(op.work), float((i + o) * b)),)
    if op.kind == "se":
        c, s = cin, op.mid
        return (Kernel("reduce", float(i), float((i + c) * b)),
                Kernel("linear", float(c * s), float((c + s + c * s + s) * b)),
                Kernel("linear", float(c * s), float((c + s + c * s + c) * b)),
                Kernel("eltwise", float(i), float((2 * i + c) * b)))
    known = ", ".join(["conv", "dwconv", "se", "pool", "maxpool", "avgpool", "linear", *sorted(KERNEL_RULES)])
    raise InvalidInput(f"no roofline model for op kind {op.kind!r} (the layer fusion mode splits blocks into "
                       f"primitive kinds; modeled: {known})")


@dataclass(frozen=True)
class RooflineParams:
    """Per kind: overhead (ms), throughput (MACs per ms) and bandwidth (bytes per ms)."""

    overhead_ms: Mapping[str, float]
    macs_per_ms: Mapping[str, float]
    bytes_per_ms: Mapping[str, float]

    def kernel_ms(self, k: Kernel) -> float:
        if k.kind not in self.overhead_ms:
            raise InvalidInput(f"the roofline model has no parameters for kernel kind {k.kind!r}; "
                               f"known: {', '.join(sorted(self.overhead_ms))}")
        return self.overhead_ms[k.kind] + k.macs / self.macs_per_ms[k.kind] + k.bytes / self.bytes_per_ms[k.kind]

    def op_ms(self, op: Op) -> float:
        return float(sum(self.kernel_ms(k) for k in kernels_of(op)))

    def to_json(self) -> dict:
        return {"overhead_ms": dict(self.overhead_ms), "macs_per_ms": dict(self.macs_per_ms),
                "bytes_per_ms": dict(self.bytes_per_ms)}

    @classmethod
    def from_json(cls, d: Mapping) -> "RooflineParams":
        try:
            return cls(dict(d["overhead_ms"]), dict(d["macs_per_ms"]), dict(d["bytes_per_ms"]))
        except (KeyError, TypeError) as exc:
            raise InvalidInput(f"roofline parameters lack {exc}") from None


def predict_kernels(params: RooflineParams, kernels: Sequence[Kernel]) -> np.ndarray:
    return np.array([params.kernel_ms(k) for k in kernels])


def fit_roofline(kernels: Sequence[Kernel], times_ms: np.ndarray) -> tuple[float, float, float]:
    """(overhead ms, MACs/ms, bytes/ms) minimizing the (robust) log error over ``kernels``."""
    if len(kernels) < 3:
        raise InvalidInput(f"fitting three roofline parameters needs 3 or more measured kernels, got {len(kernels)}")
    macs = np.array([k.macs for k in kernels])
    nbytes = np.array([k.bytes for k in kernels])
    t = np.asarray(times_ms, dtype=np.float64)

    def log_error(p):
        o, c, m = np.exp(p)
        return np.log(o + macs / c + nbytes / m) - np.log(t)

    # start: overhead at half the fastest kernel, rates from the median kernel
    p0 = np.log([t.min() / 2, np.median(macs / t), np.median(nbytes / t)])
    res = least_squares(log_error, p0, method="trf", loss="soft_l1", f_scale=0.1)
    o, c, m = np.exp(res.x)
    return float(o), float(c), float(m)


def fit_bandwidth(kernel: Kernel, time_ms: float, overhead_ms: float, macs_per_ms: float) -> float:
    """The bandwidth that explains one measured kernel, given the overhead and throughput of another kind."""
    memory_ms = time_ms - overhead_ms - kernel.macs / macs_per_ms
    if memory_ms <= 0:
        raise InvalidInput(f"a {kernel.kind} kernel of {time_ms * 1e3:.1f} us is faster than the "
                           f"{overhead_ms * 1e3:.1f} us launch overhead fitted on other kernels")
    return float(kernel.bytes / memory_ms)


from . import roofline_tokens as _roofline_tokens  # noqa: E402,F401  (registers the token-op kinds' kernels)
