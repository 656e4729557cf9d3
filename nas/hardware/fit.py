"""Fit a per-op latency table from end-to-end latencies of whole subnets (for devices where only whole
networks can be timed).

Each op belongs to a *group*: the op without its spatial size (kind, channels, kernel, stride, inner
width, SE, activation, residual, fusion). An op of group ``g`` doing ``F`` units of work (MACs plus
pooling passes) is modeled as ``a_g + b_g * F`` (a launch overhead plus a throughput term), both
non-negative. Each variant of the network's entry slot (the stem, one per input resolution, say)
also gets a free non-negative cost, booked on its first op: whole-network effects such as per-shape
algorithm choices on GPUs. A subnet's latency is then linear in per-group op counts, work sums and an
entry indicator; the coefficients come from non-negative least squares (scipy's NNLS) with a small
ridge term that splits what the data cannot tell apart, reweighted a few times (Huber-style) so that
a few badly timed subnets do not pull the fit. The coefficients expand into a regular per-op table.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
from scipy.optimize import nnls

from search_spaces import SearchSpace
from search_spaces.errors import InvalidInput
from search_spaces.structure import Structure

from .opspec import Op, structured
from .table import LatencyTable

__all__ = ["GroupFeatures", "LatencyFit", "fit_table", "error_report", "group_of"]

_MAC_SCALE = 1e6  # features in MMACs keep NNLS well conditioned


def group_of(op: Op) -> str:
    """The op spec without its spatial sizes."""
    return "-".join(part for part in op.key.split("-") if not part.startswith(("in:", "out:"))) + \
        f"-cin:{op.in_shape[2]}-cout:{op.out_shape[2]}"


class GroupFeatures:
    """Per-subnet features [counts per group, MMACs per group, entry variant], vectorized over genomes."""

    def __init__(self, space: SearchSpace, fusion: str = "block"):
        self.space, self.fusion = structured(space), fusion
        self.structure: Structure = space.structure(fusion)
        specs = self.structure.unique_ops()
        self.groups = sorted({group_of(op) for op in specs.values()})
        index = {g: i for i, g in enumerate(self.groups)}
        G = len(self.groups)
        # one free cost per distinct entry op (variants may share one: then they share its cost)
        self.entry_keys = list(dict.fromkeys(v.ops[0].key for v in self.structure.slots[0].variants if v.ops))
        entry_col = {k: i for i, k in enumerate(self.entry_keys)}
        E = len(self.entry_keys)

        def vec(ops) -> np.ndarray:
            v = np.zeros(2 * G + E)
            for op in ops:
                i = index[group_of(op)]
                v[i] += 1.0
                v[G + i] += op.work / _MAC_SCALE
            return v

        S, V = self.structure.n_slots, self.structure.n_variants
        self.table = np.zeros((S, V + 1, 2 * G + E))  # the last variant column: a skipped slot
        for s, slot in enumerate(self.structure.slots):
            for v, variant in enumerate(slot.variants):
                self.table[s, v] = vec(variant.ops)
                if s == 0 and variant.ops:
                    self.table[s, v, 2 * G + entry_col[variant.ops[0].key]] = 1.0
        self.index = index

    @property
    def n_features(self) -> int:
        return self.table.shape[2]

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        index = self.space.variant_index(genomes)
        out = np.zeros((len(index), self.n_features))
        for s in range(index.shape[1]):  # slot by slot: [n, features] at a time, not [n, slots, features]
            out += self.table[s, index[:, s]]
        return out

    def op_latencies(self, coef: np.ndarray) -> dict[str, float]:
        """Every op of the space under the fitted coefficients (entry ops carry their variant's cost)."""
        G = len(self.groups)
        out = {key: float(coef[self.index[group_of(op)]] + coef[G + self.index[group_of(op)]] * op.work / _MAC_SCALE)
               for key, op in self.structure.unique_ops().items()}
        for i, key in enumerate(self.entry_keys):
            out[key] += float(coef[2 * G + i])
        return out


@dataclass
class LatencyFit:
    features: GroupFeatures
    coef: np.ndarray
    train_error: dict
    metadata: dict = field(default_factory=dict)

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        return self.features(genomes) @ self.coef

    def table(self, metadata: Mapping[str, Any]) -> LatencyTable:
        latency = self.features.op_latencies(self.coef)
        rows = [op.as_row() | {"latency_ms": latency[key], "spread_ms": 0.0, "count": 0}
                for key, op in self.features.structure.unique_ops().items()]
        return LatencyTable(rows, dict(metadata))


def error_report(pred: np.ndarray, true: np.ndarray, tolerance: float = 0.10) -> dict:
    """Share within +-tolerance, RMSE (ms and % of measured), median / max absolute % error.

    Timings so large that these overflow (1e308 "ms") are refused: an ``inf`` would reach the table's
    metadata as ``Infinity``, which is not JSON."""
    with np.errstate(over="ignore", invalid="ignore"):
        rel = pred / true - 1.0
        report = {"n": int(len(true)), "within_10pct": float(np.mean(np.abs(rel) <= tolerance)),
                  "rmse_ms": float(np.sqrt(np.mean((pred - true) ** 2))),
                  "rmse_pct": float(100 * np.sqrt(np.mean(rel**2))),
                  "median_abs_pct": float(100 * np.median(np.abs(rel))),
                  "max_abs_pct": float(100 * np.max(np.abs(rel))), "mean_pct": float(100 * np.mean(rel))}
    if not all(np.isfinite(v) for v in report.values()):
        raise InvalidInput(f"latencies up to {np.max(np.abs(true)):.3g} ms overflow the fit's error statistics; "
                           "are they milliseconds?")
    return report


def _nnls(X: np.ndarray, y: np.ndarray, weights: np.ndarray, ridge: float) -> np.ndarray:
    A, b = X * weights[:, None], y * weights
    scale = np.maximum(np.abs(A).max(axis=0), 1e-12)
    A = A / scale
    reg = np.sqrt(ridge * len(y)) * np.eye(A.shape[1])
    coef, _ = nnls(np.vstack([A, reg]), np.concatenate([b, np.zeros(A.shape[1])]), maxiter=50 * A.shape[1])
    return coef / scale


def fit_table(space: SearchSpace, genomes: np.ndarray, latency_ms: np.ndarray, *, fusion: str = "block",
              ridge: float = 1e-6, relative: bool = True, robust_iterations: int = 3) -> LatencyFit:
    """NNLS fit of per-group overhead and throughput coefficients and per-resolution costs.

    ``relative`` weights each subnet by 1 / its latency, so the fit minimizes relative error (what
    "within +-10%" measures) rather than favoring the slowest subnets. ``robust_iterations`` refits
    with Huber weights (threshold 1.345 robust standard deviations of the relative residuals).
    """
    latency_ms = np.asarray(latency_ms, dtype=np.float64)
    if len(genomes) != len(latency_ms):
        raise InvalidInput(f"{len(genomes)} subnets but {len(latency_ms)} latencies")
    if len(latency_ms) < 2 or not np.all(np.isfinite(latency_ms)) or np.any(latency_ms <= 0):
        raise InvalidInput("fitting needs at least 2 subnets with positive, finite latencies")
    feats = GroupFeatures(space, fusion)
    X = feats(genomes)
    base = 1.0 / latency_ms if relative else np.ones_like(latency_ms)
    huber = np.ones_like(latency_ms)
    with np.errstate(over="ignore", invalid="ignore"):  # absurd timings: error_report below names them
        for _ in range(1 + robust_iterations):
            coef = _nnls(X, latency_ms, base * huber, ridge)
            rel = X @ coef / latency_ms - 1.0
            threshold = 1.345 * 1.4826 * np.median(np.abs(rel))
            huber = np.sqrt(np.minimum(1.0, threshold / np.maximum(np.abs(rel), 1e-12)))
    fit = LatencyFit(feats, coef, error_report(X @ coef, latency_ms))
    fit.metadata = {"method": "NNLS over per-group op counts and work (latency = a_g + b_g * MACs per op) plus a "
                              "cost per variant of the entry op (the stem, per resolution), Huber-reweighted",
                    "groups": len(feats.groups), "subnets": int(len(latency_ms)), "ridge": ridge,
                    "weighting": "relative" if relative else "absolute", "robust_iterations": robust_iterations,
                    "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    return fit
