"""Fit a per-op latency table from end-to-end latencies of whole subnets (for devices where only whole
networks can be timed).

Each op spec belongs to a *group*: the spec without its spatial size (kind, channels, kernel, stride,
expand width, SE, activation, residual, fusion). An op of group ``g`` with ``F`` MACs is modeled as
``a_g + b_g * F`` (a launch overhead plus a throughput term), both non-negative. A subnet's latency
is the sum over the ops it runs, so it is linear in the per-group op counts and MAC sums; the
coefficients come from non-negative least squares (scipy's NNLS) with a small ridge term that splits
what the data cannot tell apart (e.g. ops that every subnet runs once). The fitted coefficients are
expanded into a regular per-op table: one entry per op spec of the space.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
from scipy.optimize import nnls

from search_spaces import SearchSpace
from search_spaces.errors import InvalidInput

from .model import SpaceOps, space_ops
from .opspec import OpSpec
from .table import LatencyTable

__all__ = ["GroupFeatures", "LatencyFit", "fit_table", "error_report"]

_MAC_SCALE = 1e6  # features in MMACs keep NNLS well conditioned


def group_of(op: OpSpec) -> str:
    """The op spec without its spatial sizes."""
    return "-".join(part for part in op.key.split("-") if not part.startswith(("in:", "out:"))) + \
        f"-cin:{op.in_shape[2]}-cout:{op.out_shape[2]}"


class GroupFeatures:
    """Per-subnet features [counts per group, MMACs per group], vectorized over genomes."""

    def __init__(self, space: SearchSpace, fusion: str = "block"):
        self.space, self.fusion = space, fusion
        self.ops: SpaceOps = space_ops(space, fusion)
        specs = self.ops.unique()
        self.groups = sorted({group_of(op) for op in specs.values()})
        index = {g: i for i, g in enumerate(self.groups)}
        G = len(self.groups)

        def vec(ops) -> np.ndarray:
            v = np.zeros(2 * G)
            for op in ops:
                i = index[group_of(op)]
                v[i] += 1.0
                v[G + i] += op.flops / _MAC_SCALE
            return v

        self.block = np.array([[[[vec(ops) for ops in per_e] for per_e in per_k] for per_k in per_pos]
                               for per_pos in self.ops.blocks])
        self.fixed = np.array([vec(pre + post) for pre, post in zip(self.ops.pre, self.ops.post)])
        self.index = index

    @property
    def n_features(self) -> int:
        return self.fixed.shape[1]

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        genomes = self.space.check_genomes(genomes)
        idx = self.space.option_indices(genomes)
        pos = np.arange(self.block.shape[0])[None, :]
        feats = self.block[pos, idx["ks"], idx["e"], idx["r"][:, None]]  # [n, blocks, F]
        return self.fixed[idx["r"]] + np.einsum("nbf,nb->nf", feats, idx["active"].astype(np.float64))

    def op_latency(self, op: OpSpec, coef: np.ndarray) -> float:
        i, G = self.index[group_of(op)], len(self.groups)
        return float(coef[i] + coef[G + i] * op.flops / _MAC_SCALE)


@dataclass
class LatencyFit:
    features: GroupFeatures
    coef: np.ndarray
    train_error: dict
    metadata: dict = field(default_factory=dict)

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        return self.features(genomes) @ self.coef

    def table(self, metadata: Mapping[str, Any]) -> LatencyTable:
        rows = []
        for op in self.features.ops.unique().values():
            rows.append(op.as_row() | {"latency_ms": self.features.op_latency(op, self.coef), "spread_ms": 0.0,
                                       "count": 0})
        return LatencyTable(rows, dict(metadata))


def error_report(pred: np.ndarray, true: np.ndarray, tolerance: float = 0.10) -> dict:
    """Share within +-tolerance, RMSE (ms and % of measured), median / max absolute % error."""
    rel = pred / true - 1.0
    return {"n": int(len(true)), "within_10pct": float(np.mean(np.abs(rel) <= tolerance)),
            "rmse_ms": float(np.sqrt(np.mean((pred - true) ** 2))),
            "rmse_pct": float(100 * np.sqrt(np.mean(rel**2))),
            "median_abs_pct": float(100 * np.median(np.abs(rel))), "max_abs_pct": float(100 * np.max(np.abs(rel))),
            "mean_pct": float(100 * np.mean(rel))}


def fit_table(space: SearchSpace, genomes: np.ndarray, latency_ms: np.ndarray, *, fusion: str = "block",
              ridge: float = 1e-4, relative: bool = True) -> LatencyFit:
    """NNLS fit of per-group overhead and throughput coefficients.

    ``relative`` weights each subnet by 1 / its latency, so the fit minimizes relative error (what
    "within +-10%" measures) rather than favoring the slowest subnets.
    """
    latency_ms = np.asarray(latency_ms, dtype=np.float64)
    if len(genomes) != len(latency_ms):
        raise InvalidInput(f"{len(genomes)} subnets but {len(latency_ms)} latencies")
    if len(latency_ms) < 2 or not np.all(np.isfinite(latency_ms)) or np.any(latency_ms <= 0):
        raise InvalidInput("fitting needs at least 2 subnets with positive, finite latencies")
    feats = GroupFeatures(space, fusion)
    X = feats(genomes)
    w = 1.0 / latency_ms if relative else np.ones_like(latency_ms)
    A, y = X * w[:, None], latency_ms * w
    scale = np.maximum(np.abs(A).max(axis=0), 1e-12)
    A = A / scale
    reg = np.sqrt(ridge * len(y)) * np.eye(A.shape[1])
    coef, _ = nnls(np.vstack([A, reg]), np.concatenate([y, np.zeros(A.shape[1])]), maxiter=50 * A.shape[1])
    coef = coef / scale
    fit = LatencyFit(feats, coef, error_report(X @ coef, latency_ms))
    fit.metadata = {"method": "NNLS over per-group op counts and MACs (latency = a_g + b_g * MACs per op)",
                    "groups": len(feats.groups), "subnets": int(len(y)), "ridge": ridge,
                    "weighting": "relative" if relative else "absolute",
                    "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    return fit
