"""``nas export --space S+q``: a quantized subnet of a trained supernet, written as a real int8 file.

``export_quantized(supernet, space, arch, out, calibration=...)``: the base arch extracted from the
(fp32) supernet, BN recalibrated on the calibration batches, post-training quantized with the arch's bits
(activation ranges from the same batches), int8 layers on int8 kernels, written and checked against the
fake-quant model (``nas.quantize.int8.export_int8``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from search_spaces import SearchSpace
from supernets import Supernet

from ..evaluate.bn_recalibration import recalibrate_bn
from .int8 import Int8Export, export_int8
from .policy import split_arch
from .ptq import calibration_batches_of

__all__ = ["export_quantized", "quantized_input_size"]


def quantized_input_size(supernet: Supernet, space: SearchSpace, arch: Mapping[str, Any]) -> tuple[int, int]:
    """(H, W) the S+q arch's subnet takes (for ``calibration_batches(size=...)``)."""
    return supernet.input_size(split_arch(space, arch)[0])


def export_quantized(supernet: Supernet, space: SearchSpace, arch: Mapping[str, Any], out: str | Path, *,
                     calibration: Iterable, calibration_images: int = 2000, fmt: str = "pt2",
                     observer: str = "minmax", batch_size: int = 1) -> Int8Export:
    """Extract, recalibrate BN, PTQ and write the S+q ``arch`` of ``supernet`` (S's) as an int8 file."""
    base, policy = split_arch(space, arch)
    net = supernet.extract(base)
    batches = calibration_batches_of(calibration, getattr(net, "input_shape", None))
    recalibrate_bn(net, batches, calibration_images)
    return export_int8(net.eval(), policy, batches, out, observer=observer, fmt=fmt, batch_size=batch_size)
