"""The runtimes the analysis times ops and whole subnets in: the engine's one registry,
``nas.hardware.runtimes`` (eager, torchscript, onnxruntime, aoti, fused; ``register_runtime`` adds
others), re-exported here for the analysis and its plugins."""

from __future__ import annotations

from ..runtimes import RUNTIMES, Runtime, check_runtimes, get_runtime, prepare, register_runtime, require

__all__ = ["Runtime", "RUNTIMES", "register_runtime", "get_runtime", "check_runtimes", "prepare", "require"]
