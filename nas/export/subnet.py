"""Export one subnet: extract -> (recalibrate BN) -> TorchScript (+ torch.export) + arch JSON + net.config."""

from __future__ import annotations

import datetime as _dt
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
from ..io import atomic_path, write_json

__all__ = ["ExportResult", "export_subnet", "FORMATS", "companion_paths"]

FORMATS = ("torchscript", "pt2")


@dataclass
class ExportResult:
    files: dict[str, Path]
    arch: dict
    arch_id: str
    max_abs_error: float
    metadata: dict = field(default_factory=dict)


def companion_paths(out: str | Path, foreign_format: str | None = "net.config") -> dict[str, Path]:
    """Where each artifact of ``--out model.pt`` goes: model.pt, model.pt2, model.arch.json and, for spaces
    with a foreign format (once-for-all's net.config), model.net.config."""
    out = Path(out)
    if out.is_dir():
        raise InvalidInput(f"--out {out} is a directory; give the subnet's file name, e.g. {out / 'subnet.pt'}")
    if not out.parent.is_dir():  # a mistyped folder would otherwise be created silently
        raise InvalidInput(f"--out {out}: folder {out.parent} does not exist; create it first")
    if out.suffix not in ("", ".pt", ".pt2", ".ts"):
        raise InvalidInput(f"--out {out} ends in {out.suffix}; name it .pt (TorchScript), .pt2 (torch.export) "
                           "or give no suffix: the arch JSON (and net.config) are written beside it")
    stem = out.with_suffix("") if out.suffix else out
    paths = {"torchscript": stem.with_suffix(".pt"), "pt2": stem.with_suffix(".pt2"),
             "json": stem.with_suffix(".arch.json")}
    if foreign_format:
        paths[foreign_format] = stem.with_suffix(f".{foreign_format}")
    return paths


def _script(module: nn.Module) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.script(module)


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
    """Write the subnet ``arch`` of ``supernet`` as deployable files next to ``out``.

    The TorchScript file loads with plain ``torch.jit.load`` (no import of this project); its outputs
    are checked against the eager subnet on a random input and the export fails above ``tolerance``.
    """
    formats = tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise InvalidInput(f"unknown export format {unknown[0] if unknown else ''!r}; allowed: {', '.join(FORMATS)}")
    space: SearchSpace = supernet.space
    arch = space.validate(arch)
    subnet = supernet.extract(arch).eval()
    recalibrated = 0
    if calibration is not None:
        recalibrated = recalibrate_bn(subnet, calibration, calibration_images)
    subnet.eval()
    input_shape = [int(v) for v in space.input_shape(arch)]
    example = torch.randn(2, *input_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        eager_out = subnet(example)
    foreign = space.foreign_format if isinstance(space, ForeignArchFormat) else None
    paths = companion_paths(out, foreign)
    files: dict[str, Path] = {}
    errors: dict[str, float] = {}
    if "torchscript" in formats:
        scripted = _script(subnet)
        with torch.no_grad():
            errors["torchscript"] = float((scripted(example) - eager_out).abs().max())
        _check(errors["torchscript"], tolerance, "TorchScript")
        with atomic_path(paths["torchscript"]) as tmp:
            scripted.save(str(tmp))
        files["torchscript"] = paths["torchscript"]
    if "pt2" in formats:
        batch = torch.export.Dim("batch", min=1, max=4096)
        program = torch.export.export(subnet, (example,), dynamic_shapes=({0: batch},))
        with torch.no_grad():
            errors["pt2"] = float((program.module()(example) - eager_out).abs().max())
        _check(errors["pt2"], tolerance, "torch.export")
        with atomic_path(paths["pt2"]) as tmp:
            torch.export.save(program, str(tmp))
        files["pt2"] = paths["pt2"]
    counts = space.count(space.encode(arch)[None, :]) if isinstance(space, Structured) else {}
    info = {
        "space": space.name,
        "arch": arch,
        "arch_id": space.arch_id(arch),
        "input_shape": [1, *input_shape],
        **{name: int(values[0]) for name, values in counts.items()},
        "bn_recalibrated_images": recalibrated,
        "max_abs_error_vs_eager": errors,
        "torch": torch.__version__,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **dict(metadata or {}),
    }
    if foreign:
        write_json(paths[foreign], space.arch_to_foreign(arch))
        files[foreign] = paths[foreign]
    files["json"] = paths["json"]
    info["files"] = {k: v.name for k, v in files.items()}
    write_json(paths["json"], info)
    return ExportResult(files, arch, info["arch_id"], max(errors.values(), default=0.0), info)


def _check(error: float, tolerance: float, what: str) -> None:
    if not error <= tolerance:
        raise InvalidInput(f"{what} export differs from the eager subnet by {error:.2e} (> {tolerance:.0e})")
