"""Efficiency gap and waterline analysis of subnets, after A. Lavin, "On the Efficiency of Convolutional
Neural Networks" (arXiv 2404.03617).

What the paper says (its abstract; the full text was not available to us): latency and arithmetic
complexity are related by "a simple formula ... through computational efficiency"; the degenerate
convs with the best accuracy-complexity trade-off "use significant memory resources and have low
computational efficiency"; "block fusion algorithms ... implement all the layers of a residual block
in a single kernel, thereby creating temporal locality, avoiding communication, and reducing
workspace size"; and it introduces "efficiency gap plots and waterline analysis" (the waterline
extends the roofline model from one kernel to a sequence of kernels). The definitions below are
ours, written to match that; counting rules are in ``traffic``, the roofs in ``peaks``.

* **Peaks** (this machine, at the thread count asked): ``P`` = fp32 GEMM FLOP/s (``torch.mm`` of two
  2048 x 2048 matrices, ``2 n^3`` FLOPs, median of 5 calls), ``BW`` = DRAM bytes/s of a 256 MiB
  ``dst.copy_(src)`` counting the read and the write (median of 5). Cached per machine and threads.
* **MACs**: once-for-all's count (conv, depthwise, linear and squeeze-excite multiply-accumulates)
  times the batch; **1 MAC = 2 FLOPs**, as in the GEMM peak.
* **Bytes moved** of a kernel: fp32 input + output (+ the residual tensor it adds) times the batch,
  plus its weights (BN folded into the conv: weights and one bias per channel), read once.
* **Roofline-ideal time** of a kernel: ``t* = max(2 MACs / P, bytes / BW)``.
* **Per-layer vs block-fused**: a block (inverted residual, bottleneck) run layer by layer launches
  its layer kernels (``Op.layer_ops()``: conv+BN+activation fused, the residual add fused into the
  last conv), each writing its output to DRAM and the next reading it back: its ideal time is the
  sum of their ``t*``. Block-fused, it is one kernel whose intermediates (the expanded tensor) stay
  on chip: bytes = block input + block output + all weights, ideal time one ``t*``.
* **Efficiency** of an op (a block, or a layer kernel) in a runtime: ``t*_layers / t_measured``, its
  time measured alone (median of repeats, caches flushed as ``nas latency profile`` does); the fused
  efficiency ``t*_fused / t_measured`` says how far a block-fusion kernel could go. It can exceed
  100% where a kernel reads faster than the copy streams (read-only traffic, weights smaller than
  the last-level cache surviving the flush): ``BW`` is a copy's rate, not a hard roof for reads. **Computational
  efficiency** (Lavin's formula ``latency = operations / (efficiency x peak)``): ``E = 2 MACs /
  (t_measured P)``, the share of the arithmetic peak achieved.
* **Efficiency gap** of an op: ``t_measured - t*_layers``; the **cumulative gap** is its running
  sum in execution order (``efficiency_gap.png``: per-op times on a log scale, and cumulative
  measured vs ideal).
* **Waterline** of a subnet: the latency lower bound summing its kernels' roofline times, layer by
  layer (``sum t*_layers``) and block-fused (``sum t*_fused``), shown next to its end-to-end latency
  measured per runtime (``waterline.png``). The subnet's efficiency is waterline / latency.
"""

from .analysis import Analysis, KernelRow, Settings, SubnetAnalysis, analyze_subnets, op_class
from .peaks import Peaks, machine_peaks, measure_peaks
from .pipeline import DEFINITIONS, analyze, resolve_archs
from .runtimes import RUNTIMES, Runtime, get_runtime, register_runtime
from .traffic import Traffic, fused_bytes, layer_bytes, op_traffic, roofline_ms

__all__ = ["Analysis", "KernelRow", "Settings", "SubnetAnalysis", "analyze_subnets", "op_class", "Peaks",
           "machine_peaks", "measure_peaks", "DEFINITIONS", "analyze", "resolve_archs", "RUNTIMES", "Runtime",
           "get_runtime", "register_runtime", "Traffic", "fused_bytes", "layer_bytes", "op_traffic", "roofline_ms"]
