"""Export one subnet: extract -> (recalibrate BN) -> fold BN into convs -> the requested formats
(TorchScript, torch.export .pt2, ONNX, AOTInductor package, TorchScript on the fused kernels) + arch JSON +
net.config.

Every file is loaded back from disk in its own runtime (``runtimes.load_runtime``) and checked against
the eager, unfolded subnet before anything is renamed into place: a failure in any format leaves every
destination as it was (no file of this export is written; an earlier export's files stay untouched).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import io
import logging
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch
from torch import nn

from search_spaces import ForeignArchFormat, SearchSpace, Structured
from search_spaces.errors import InvalidInput
from supernets import Supernet

from ..evaluate.bn_recalibration import recalibrate_bn
from ..io import atomic_paths, write_json
from .fold import fold_batchnorm
from .runtimes import FORMATS, fused_library_beside, load_runtime, require_runtime

__all__ = ["ExportResult", "export_subnet", "FORMATS", "companion_paths", "check_formats"]

#: what runs fused in each format beyond the BN folding done for all of them (``fold`` says more)
FUSION = {
    "torchscript": "torch.jit.freeze (weights inlined as constants; activations run unfused)",
    "pt2": "none beyond BN folding (the loading runtime fuses)",
    "onnx": "ONNX Runtime fuses at load (ORT_ENABLE_ALL)",
    "aoti": "Inductor-generated C++ kernels with fused pointwise ops",
    "fused": "every block the engine's kernels cover as one nas_fused call (nas.hardware.fused), then frozen",
}
#: the file of each format beside ``--out``'s stem
SUFFIXES = {"torchscript": ".pt", "pt2": ".pt2", "onnx": ".onnx", "aoti": ".aoti.pt2", "fused": ".fused.pt"}


@dataclass
class ExportResult:
    files: dict[str, Path]
    arch: dict
    arch_id: str
    max_abs_error: float
    metadata: dict = field(default_factory=dict)


def companion_paths(out: str | Path, foreign_format: str | None = "net.config") -> dict[str, Path]:
    """Where each artifact of ``--out model.pt`` goes: model.pt (TorchScript), model.pt2 (torch.export),
    model.onnx, model.aoti.pt2 (AOTInductor package), model.fused.pt and model.nas_fused.so (the fused
    kernels and their library), model.arch.json and, for spaces with a foreign format (once-for-all's
    net.config), model.net.config."""
    out = Path(out)
    if out.is_dir():
        raise InvalidInput(f"--out {out} is a directory; give the subnet's file name, e.g. {out / 'subnet.pt'}")
    if not out.parent.is_dir():  # a mistyped folder would otherwise be created silently
        raise InvalidInput(f"--out {out}: folder {out.parent} does not exist; create it first")
    if out.suffix not in ("", ".pt", ".pt2", ".ts", ".onnx"):
        raise InvalidInput(f"--out {out} ends in {out.suffix}; name it .pt (TorchScript), .pt2 (torch.export), "
                           ".onnx or give no suffix: the other formats and the arch JSON are written beside it")
    stem = out.with_suffix("") if out.suffix else out
    paths = {fmt: stem.with_name(stem.name + suffix) for fmt, suffix in SUFFIXES.items()}
    paths["fused_library"] = fused_library_beside(paths["fused"])
    paths["json"] = stem.with_name(stem.name + ".arch.json")
    if foreign_format:
        paths[foreign_format] = stem.with_name(f"{stem.name}.{foreign_format}")
    return paths


def check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    """The requested formats without repeats; refuses an unknown one and one whose runtime is missing."""
    formats = tuple(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise InvalidInput(f"unknown export format {unknown[0] if unknown else ''!r}; allowed: {', '.join(FORMATS)}")
    for fmt in formats:
        require_runtime(fmt)
    return formats


def export_subnet(
    supernet: Supernet,
    arch: Mapping[str, Any],
    out: str | Path,
    *,
    formats: Iterable[str] = ("torchscript",),
    calibration: Iterable | None = None,
    calibration_images: int = 2000,
    metadata: Mapping[str, Any] | None = None,
    tolerance: float = 1e-5,
) -> ExportResult:
    """Write the subnet ``arch`` of ``supernet`` as deployable files next to ``out`` (``companion_paths``).

    BatchNorm is folded into the convs first (``fold.fold_batchnorm``), in every format. Each file loads
    without this project; it is loaded back from disk and its outputs (batch 2 and batch 1: the batch
    dimension is dynamic) are compared with the eager, unfolded subnet on a random input; the export
    fails above ``tolerance`` (relative to the largest |output| where that is above 1) and then writes nothing.
    """
    formats = check_formats(formats)
    space: SearchSpace = supernet.space
    arch = space.validate(arch)
    subnet = supernet.extract(arch).eval()
    recalibrated = 0
    if calibration is not None:
        recalibrated = recalibrate_bn(subnet, calibration, calibration_images)
    subnet.eval()
    deployed, fold = fold_batchnorm(subnet)
    input_shape = [int(v) for v in space.input_shape(arch)]
    example = torch.randn(2, *input_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        eager_out, eager_one = subnet(example), subnet(example[:1])
        errors = {"bn_fold": _error(deployed, example, eager_out, eager_one)}
    # fp32 rounding grows with the logits' magnitude: the tolerance is relative to outputs above 1
    scale = max(1.0, float(eager_out.abs().max()))
    _check(errors["bn_fold"], tolerance, "the BN-folded subnet", scale)
    foreign = space.foreign_format if isinstance(space, ForeignArchFormat) else None
    paths = companion_paths(out, foreign)
    keys = [*formats, *(["fused_library"] if "fused" in formats else []), *([foreign] if foreign else []), "json"]
    files = {key: paths[key] for key in keys}
    counts = space.count(space.encode(arch)[None, :]) if isinstance(space, Structured) else {}
    with atomic_paths([files[key] for key in keys]) as temps:
        temp = dict(zip(keys, temps))
        program = None
        for fmt in formats:
            if fmt in ("pt2", "aoti") and program is None:
                program = torch.export.export(deployed, (example,), dynamic_shapes=({0: _batch_dim()},))
            _WRITERS[fmt](deployed, program, example, temp[fmt])
            errors[fmt] = _error(load_runtime(fmt, temp[fmt]), example, eager_out, eager_one)
            _check(errors[fmt], tolerance, _NAMES[fmt], scale)
        info = {
            "space": space.name,
            "arch": arch,
            "arch_id": space.arch_id(arch),
            "input_shape": [1, *input_shape],
            **{name: int(values[0]) for name, values in counts.items()},
            "bn_recalibrated_images": recalibrated,
            "bn_folded": fold.folded,
            "bn_unfolded": fold.left,
            "fusion": {fmt: FUSION[fmt] for fmt in formats},
            "max_abs_error_vs_eager": errors,
            "torch": torch.__version__,
            **_runtime_versions(formats),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            **dict(metadata or {}),
            "files": {key: path.name for key, path in files.items()},
        }
        if "fused" in formats:
            from nas.hardware.fused import library_path

            shutil.copyfile(library_path(), temp["fused_library"])
        if foreign:
            write_json(temp[foreign], space.arch_to_foreign(arch))
        write_json(temp["json"], info)
    return ExportResult(files, arch, info["arch_id"], max(errors.values()), info)


def _batch_dim():
    return torch.export.Dim("batch", min=1, max=4096)


def _error(run, example: torch.Tensor, eager_out: torch.Tensor, eager_one: torch.Tensor) -> float:
    with torch.no_grad():
        return max(float((run(example) - eager_out).abs().max()), float((run(example[:1]) - eager_one).abs().max()))


def _script(module: nn.Module) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.script(module)


def _write_torchscript(module: nn.Module, program, example: torch.Tensor, path: Path) -> None:
    """Frozen, not ``optimize_for_inference``d: the latter's oneDNN weight constants do not serialize (torch
    2.13: the saved file fails ``torch.jit.load`` with "required keyword attribute 'value' is undefined"). A
    CPU deployment can call ``torch.jit.optimize_for_inference(torch.jit.load(path))`` after loading."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        frozen = torch.jit.freeze(_script(module))
    frozen.save(str(path))


def _write_pt2(module: nn.Module, program, example: torch.Tensor, path: Path) -> None:
    torch.export.save(program, str(path))


@contextlib.contextmanager
def _quiet():
    """The ONNX and Inductor exporters' chatter (progress lines, warnings about torchvision ops, deprecations)
    kept off stdout and the log: ``nas export --json`` prints only JSON."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _write_onnx(module: nn.Module, program, example: torch.Tensor, path: Path) -> None:
    with _quiet():
        onnx_program = torch.onnx.export(module, (example,), dynamo=True, dynamic_shapes=({0: _batch_dim()},),
                                         input_names=["input"], output_names=["logits"], verbose=False)
        onnx_program.save(str(path), external_data=False)


def _write_aoti(module: nn.Module, program, example: torch.Tensor, path: Path) -> None:
    from torch._inductor import aoti_compile_and_package

    with _quiet():
        aoti_compile_and_package(program, package_path=str(path))


def _write_fused(module: nn.Module, program, example: torch.Tensor, path: Path) -> None:
    """Every block the kernels cover fused, whatever this machine's timings: the file is for its target,
    not for here. The kernel library is copied beside it (``export_subnet``)."""
    from nas.hardware.fused import fuse_blocks

    fused = fuse_blocks(module)
    del fused.fusion_report  # a plain attribute TorchScript would try to compile
    _write_torchscript(fused, program, example, path)


_WRITERS = {"torchscript": _write_torchscript, "pt2": _write_pt2, "onnx": _write_onnx, "aoti": _write_aoti,
            "fused": _write_fused}
_NAMES = {"torchscript": "the TorchScript export", "pt2": "the torch.export export",
          "onnx": "the ONNX export (in ONNX Runtime)", "aoti": "the AOTInductor package",
          "fused": "the fused-kernel TorchScript export"}


def _runtime_versions(formats: tuple[str, ...]) -> dict[str, str]:
    if "onnx" not in formats:
        return {}
    import onnx
    import onnxruntime
    import onnxscript

    return {"onnx": onnx.__version__, "onnxscript": onnxscript.__version__, "onnxruntime": onnxruntime.__version__}


def _check(error: float, tolerance: float, what: str, scale: float = 1.0) -> None:
    if not error <= tolerance * scale:
        bound = f"{tolerance:.0e}" if scale == 1.0 else f"{tolerance:.0e} x the largest |output| {scale:.3g}"
        raise InvalidInput(f"{what} differs from the eager subnet by {error:.2e} (> {bound})")
