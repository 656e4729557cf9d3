"""Activation observers for post-training quantization: per-tensor ranges from calibration images.

* ``minmax``: the smallest and largest value seen.
* ``histogram``: ``torch.ao``'s ``HistogramObserver`` (a 2048-bin histogram, then the range that minimizes
  the L2 quantization error of the histogram).
* ``percentile``: the 0.01th and 99.99th percentiles of that histogram (clips rare outliers).

Each gives an affine uint8 range: ``(scale, zero_point)`` for ``q = clamp(round(x / scale) + zp, 0, 2**bits - 1)``,
the range always containing 0 (so zero padding and ReLU outputs are exact).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from search_spaces.errors import InvalidInput

__all__ = ["OBSERVERS", "make_observer", "affine_qparams"]

OBSERVERS = ("minmax", "histogram", "percentile")
PERCENTILE = 99.99


def affine_qparams(lo: float, hi: float, bits: int = 8) -> tuple[float, int]:
    """Scale and zero point mapping ``[min(lo, 0), max(hi, 0)]`` onto ``0 .. 2**bits - 1``."""
    qmax = 2 ** bits - 1
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = max((hi - lo) / qmax, 1e-8)
    zero_point = int(min(max(round(-lo / scale), 0), qmax))
    return float(scale), zero_point


class MinMax(nn.Module):
    def __init__(self, bits: int):
        super().__init__()
        self.bits = bits
        self.lo, self.hi = float("inf"), float("-inf")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.lo = min(self.lo, float(x.min()))
        self.hi = max(self.hi, float(x.max()))
        return x

    def qparams(self) -> tuple[float, int]:
        if self.lo > self.hi:
            raise InvalidInput("an activation observer saw no data: calibrate with at least one batch")
        return affine_qparams(self.lo, self.hi, self.bits)


class Histogram(nn.Module):
    """``torch.ao``'s HistogramObserver; ``percentile`` instead reads the clipping range off its histogram."""

    def __init__(self, bits: int, percentile: float | None = None):
        super().__init__()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torch.ao.quantization.observer import HistogramObserver

            self.observer = HistogramObserver(dtype=torch.quint8, quant_min=0, quant_max=2 ** bits - 1)
        self.bits, self.percentile, self.seen = bits, percentile, False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.observer(x.detach().float())
        self.seen = True
        return x

    def qparams(self) -> tuple[float, int]:
        if not self.seen:
            raise InvalidInput("an activation observer saw no data: calibrate with at least one batch")
        obs = self.observer
        if self.percentile is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scale, zp = obs.calculate_qparams()
            return max(float(scale), 1e-8), int(zp)
        hist = obs.histogram.double()
        lo, hi = float(obs.min_val), float(obs.max_val)
        if hi <= lo:
            return affine_qparams(lo, hi, self.bits)
        cdf = hist.cumsum(0) / hist.sum()
        width = (hi - lo) / len(hist)
        tail = (100.0 - self.percentile) / 100.0
        first = int(torch.searchsorted(cdf, torch.tensor(tail, dtype=cdf.dtype)))
        last = int(torch.searchsorted(cdf, torch.tensor(1.0 - tail, dtype=cdf.dtype)))
        return affine_qparams(lo + first * width, lo + (last + 1) * width, self.bits)


def make_observer(kind: str, bits: int = 8) -> nn.Module:
    if kind == "minmax":
        return MinMax(bits)
    if kind == "histogram":
        return Histogram(bits)
    if kind == "percentile":
        return Histogram(bits, PERCENTILE)
    raise InvalidInput(f"unknown observer {kind!r}; allowed: {', '.join(OBSERVERS)}")
