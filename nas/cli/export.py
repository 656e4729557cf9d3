"""``nas export`` and ``nas arch``: deployable subnets, and reading/validating architectures."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from search_spaces import ForeignArchFormat, Structured, get_space
from search_spaces.errors import NotSupported

from .. import api
from ..export import FORMATS, read_arch_file
from ..search import format_value
from ._common import app, arch_option, console, print_json, user_errors


@app.command("export")
@user_errors
def export(
    out: Path = typer.Option(..., "--out", help="Output file, e.g. subnet.pt (JSON and net.config go beside it)."),
    space: str = typer.Option(None, "--space", "-s", help="Search space of the arch."),
    arch: Path = typer.Option(None, "--arch", help="Arch JSON, exported JSON, best.json or once-for-all net.config."),
    run: Path = typer.Option(None, "--run", help="Export the best subnet of this search run."),
    checkpoint: Path = typer.Option(None, "--checkpoint", help="Supernet checkpoint (ours or once-for-all's)."),
    data: str = typer.Option(None, "--data",
                             help="Training images: recalibrate BN on them before export (needs --checkpoint)."),
    calibration_images: int = typer.Option(2000, "--calibration-images", min=1,
                                           help="Images for BN recalibration with --data."),
    resolution: int = typer.Option(None, "--resolution", min=1, help="Input resolution (overrides the arch file's)."),
    fmt: list[str] = typer.Option(["torchscript"], "--format", help=f"Formats: {', '.join(FORMATS)} (repeatable)."),
    json_out: bool = typer.Option(False, "--json", help="Print the export summary as JSON."),
) -> None:
    """Export a subnet (BN folded) as TorchScript, torch.export .pt2, ONNX, an AOTInductor package or TorchScript
    on the fused kernels, with its arch JSON (and once-for-all net.config)."""
    space, arch_dict = arch_option(arch, space, resolution, "a run's best subnet")
    result = api.export(out, space=space, arch=arch_dict, run=run, checkpoint=checkpoint, formats=fmt, data=data,
                        calibration_images=calibration_images)
    if not hasattr(result, "metadata"):  # an S+q subnet: one int8 file (nas.quantize.Int8Export)
        _print_int8(result, json_out)
        return
    if json_out:
        print_json({**result.metadata, "files": {k: str(v) for k, v in result.files.items()}})
        return
    meta = result.metadata
    sizes = "".join(f"{format_value(k, meta[k])} {label}, " for k, label in (("params", "params"), ("macs", "MACs"))
                    if k in meta)
    console.print(f"exported {escape(meta['space'])} subnet ({sizes}input {meta['input_shape']}); "
                  f"{meta['bn_folded']} BN layers folded into convs; "
                  f"max |exported - eager| = {result.max_abs_error:.1e}"
                  + (f"; BN recalibrated on {meta['bn_recalibrated_images']} images"
                     if meta.get("bn_recalibrated_images") else ""))
    for kind, path in result.files.items():
        console.print(f"  {kind}: {path}")
    if meta.get("warning"):
        console.print(f"[yellow]warning:[/yellow] {meta['warning']}")


def _print_int8(result, json_out: bool) -> None:
    info = {"file": str(result.path), "format": result.format, "int8_layers": result.int8_layers,
            "simulated_layers": result.simulated_layers, "fp32_layers": result.fp32_layers,
            "max_abs_diff_vs_fake_quant": result.max_abs_diff, "top1_agreement": result.top1_agreement,
            "bytes": result.bytes}
    if json_out:
        print_json(info)
        return
    console.print(f"exported an int8 subnet ({result.format}, {result.bytes / 1e6:.2f} MB): {result.int8_layers} "
                  f"layers on int8 kernels, {result.simulated_layers} simulated, {result.fp32_layers} fp32; vs the "
                  f"fake-quant model max |diff| {result.max_abs_diff:.2e}, top-1 agreement {result.top1_agreement:.1%}")
    console.print(f"  {result.format}: {escape(str(result.path))}")


@app.command("arch")
@user_errors
def arch(
    path: Path = typer.Argument(..., help="Arch JSON, exported JSON, best.json, or once-for-all net.config."),
    space: str = typer.Option("ofa-mbv3", "--space", "-s", help="Search space to validate against."),
    resolution: int = typer.Option(None, "--resolution", min=1, help="Input resolution (overrides the file's)."),
    net_config: Path = typer.Option(None, "--net-config",
                                    help="Also write the arch in the space's foreign format (once-for-all's "
                                         "net.config) here."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Validate an architecture and show its id, params and MACs (reads once-for-all net.config too)."""
    space_obj = get_space(space)
    if net_config is not None and not isinstance(space_obj, ForeignArchFormat):
        raise NotSupported(f"--net-config: space {space_obj.name} has no foreign arch format")
    arch_dict = read_arch_file(path, space_obj, resolution)
    info = {"space": space_obj.name, "arch": arch_dict, "arch_id": space_obj.arch_id(arch_dict)}
    if isinstance(space_obj, Structured):
        counts = space_obj.count(space_obj.encode(arch_dict)[None, :])
        info |= {"params": int(counts["params"][0]), "macs": int(counts["macs"][0])}
    if net_config is not None:
        from ..io import write_json

        write_json(net_config, space_obj.arch_to_foreign(arch_dict))
        info["net_config"] = str(net_config)
    if json_out:
        print_json(info)
        return
    console.print(f"{escape(info['space'])}: {escape(info['arch_id'])}")
    if "params" in info:
        console.print(f"  params {format_value('params', info['params'])}, MACs {format_value('macs', info['macs'])}")
    console.print_json(data=info["arch"])
