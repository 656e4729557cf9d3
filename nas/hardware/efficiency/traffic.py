"""Arithmetic and DRAM traffic of one op, and its roofline-ideal time (pure arithmetic, no torch).

Counts, for a batch of ``B`` fp32 inputs (4 bytes per element):

* **MACs**: once-for-all's convention (``search_spaces.ops.Op.macs``: conv, depthwise conv, linear
  and squeeze-excite 1x1 multiply-accumulates), times ``B``. One MAC is **2 FLOPs**, as in the GEMM
  peak (``2 n^3`` FLOPs for an ``n x n`` by ``n x n`` product).
* **Weights**: the op's parameters with BN folded into the conv before it (BN's scale disappears
  into the conv weights, its shift becomes a bias of ``C_out`` values): ``params - C_out`` for a
  conv with BN, ``params`` otherwise. Read once per call, whatever ``B``.
* **Bytes of one layer kernel** (a primitive op: conv/dwconv with BN and activation fused, a
  residual add fused into it): ``4 (B (in + out [+ out for the residual tensor read]) + weights)``.
  Squeeze-excite, run as its four kernels (mean, 1x1, 1x1, gate-multiply), reads its input twice
  (the mean and the multiply) and writes its output once, plus the small pooled vectors
  (``4 C + 2 C_se`` per image), as ``nas.hardware.roofline.kernels_of`` counts them.
* **Per-layer bytes of a block** (a composite op): the sum over its layer kernels
  (``Op.layer_ops()``: shortcut, then main path with the add fused into its last conv): every
  intermediate tensor (e.g. the expanded tensor of an inverted residual) is written by one kernel
  and read by the next.
* **Block-fused bytes**: one kernel for the whole block, its intermediates staying on chip:
  ``4 (B (in + out) + weights of all parts)``; the residual add reuses the input already read.
  A primitive op is its own one kernel: its fused bytes are its layer bytes.
* **Roofline-ideal time** of a kernel: ``max(2 MACs / peak_flops, bytes / bandwidth)``; of a block
  run layer by layer, the sum over its layer kernels (their waterline); of a block fused, one
  ``max`` over the block's MACs and fused bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from search_spaces.errors import InvalidInput
from search_spaces.ops import Op

__all__ = ["BYTES_PER_ELEMENT", "FLOPS_PER_MAC", "Traffic", "weight_elements", "layer_bytes", "fused_bytes",
           "op_traffic", "roofline_ms", "layer_kernels"]

BYTES_PER_ELEMENT = 4  # fp32
FLOPS_PER_MAC = 2


def _elements(shape) -> int:
    h, w, c = shape
    return int(h) * int(w) * int(c)


def _check_batch(batch: int) -> int:
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise InvalidInput(f"--batch must be a whole number >= 1, not {batch!r}")
    return batch


def weight_elements(op: Op) -> int:
    """Weights a kernel reads: params with BN folded (one bias per output channel instead of scale + shift)."""
    if op.is_composite:
        return sum(weight_elements(p) for p in (*op.shortcut, *op.parts))
    return int(op.params) - (op.out_shape[2] if op.bn else 0)


def layer_bytes(op: Op, batch: int = 1) -> int:
    """DRAM bytes of one primitive (layer) kernel at ``batch``."""
    if op.is_composite:
        raise InvalidInput(f"{op.kind} is a composite op: its per-layer bytes sum its layer kernels (op_traffic)")
    batch = _check_batch(batch)
    i, o = _elements(op.in_shape), _elements(op.out_shape)
    if op.kind == "se":
        c, s = op.in_shape[2], op.mid
        activations = 2 * i + o + 4 * c + 2 * s
    else:
        activations = i + o + (o if op.residual else 0)
    return BYTES_PER_ELEMENT * (batch * activations + weight_elements(op))


def layer_kernels(op: Op) -> tuple[Op, ...]:
    """The layer kernels an op runs as when not block-fused (a primitive: itself)."""
    return op.layer_ops()


def fused_bytes(op: Op, batch: int = 1) -> int:
    """DRAM bytes of the op run as one kernel: block input, block output and all weights."""
    if not op.is_composite:
        return layer_bytes(op, batch)
    batch = _check_batch(batch)
    return BYTES_PER_ELEMENT * (batch * (_elements(op.in_shape) + _elements(op.out_shape)) + weight_elements(op))


def roofline_ms(macs: float, nbytes: float, peak_flops: float, bandwidth: float) -> float:
    """``max(2 MACs / peak, bytes / bandwidth)`` in ms (``peak_flops`` in FLOP/s, ``bandwidth`` in B/s)."""
    if not (peak_flops > 0 and bandwidth > 0):
        raise InvalidInput(f"peaks must be positive (got {peak_flops} FLOP/s, {bandwidth} B/s)")
    return 1e3 * max(FLOPS_PER_MAC * macs / peak_flops, nbytes / bandwidth)


@dataclass(frozen=True)
class Traffic:
    """What one op costs at a batch: arithmetic, bytes per layer and fused, and the ideal times."""

    macs: int
    bytes_layer: int
    bytes_fused: int
    kernels: int  # layer kernels it runs as (1 for a primitive)
    ideal_layer_ms: float  # sum over its layer kernels of their roofline times
    ideal_fused_ms: float  # one roofline time over the block's MACs and fused bytes
    bound: str  # "compute" or "memory": which roof the fused kernel hits

    @property
    def intensity_layer(self) -> float:
        """FLOPs per DRAM byte, layer by layer."""
        return FLOPS_PER_MAC * self.macs / self.bytes_layer

    @property
    def intensity_fused(self) -> float:
        return FLOPS_PER_MAC * self.macs / self.bytes_fused


def op_traffic(op: Op, batch: int, peak_flops: float, bandwidth: float) -> Traffic:
    """MACs, per-layer and fused bytes, and roofline-ideal times of ``op`` at ``batch``."""
    batch = _check_batch(batch)
    layers = layer_kernels(op)
    per_layer = [(batch * layer.macs, layer_bytes(layer, batch)) for layer in layers]
    macs = batch * int(op.macs)
    nbytes_fused = fused_bytes(op, batch)
    ideal_layer = sum(roofline_ms(m, b, peak_flops, bandwidth) for m, b in per_layer)
    ideal_fused = roofline_ms(macs, nbytes_fused, peak_flops, bandwidth)
    bound = "compute" if FLOPS_PER_MAC * macs / peak_flops >= nbytes_fused / bandwidth else "memory"
    return Traffic(macs, sum(b for _, b in per_layer), nbytes_fused, len(layers), ideal_layer, ideal_fused, bound)
