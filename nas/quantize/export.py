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
from search_spaces.errors import InvalidInput
from supernets import Supernet

from ..evaluate.bn_recalibration import recalibrate_bn
from .int8 import Int8Export, export_int8
from .policy import split_arch
from .ptq import calibration_batches_of

__all__ = ["export_quantized", "quantized_input_size", "export_as_asked"]


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


def export_as_asked(supernet: Supernet, space: SearchSpace, arch: Mapping[str, Any], out: str | Path,
                   formats: Iterable[str], calibration: Iterable | None, calibration_images: int,
                   data: str | Path | None, ckpt_meta: Mapping | None) -> Int8Export:
    """An S+q subnet as a real int8 file (``nas.quantize``): ``pt2`` (an AOTInductor package on oneDNN's int8
    kernels, the faster) or ``torchscript`` (fbgemm); PTQ needs calibration images, so ``data`` is required."""
    formats = list(formats)
    if len(formats) != 1 or formats[0] not in ("pt2", "torchscript"):
        raise InvalidInput(f"a quantized subnet ({space.name}) exports as one int8 file: --format pt2 (AOTInductor, "
                           f"oneDNN int8 kernels) or --format torchscript (fbgemm); got {', '.join(formats)}")
    if calibration is None:
        if data is None:
            raise InvalidInput(f"a quantized subnet ({space.name}) is calibrated on training images: pass --data "
                               "(and the --checkpoint trained on them)")
        from ..evaluate.evalset import calibration_batches

        size = quantized_input_size(supernet, space, arch)
        calibration = calibration_batches(data, meta=ckpt_meta, size=size, n_images=calibration_images)
    return export_quantized(supernet, space, space.validate(dict(arch)), out, calibration=calibration,
                            calibration_images=calibration_images, fmt=formats[0], batch_size=1)
