"""int8 vs fp32 latency of one subnet on this CPU, and the two int8 routes: ``python -m nas.quantize.bench``.

Routes, each on the same all-int8 (8-bit symmetric weights, 8-bit inputs) subnet, 1 thread, medians:

* ``fp32``: the BN-folded subnet, TorchScript, frozen (what ``nas export`` writes for fp32).
* ``ao``: ``nas.quantize.int8`` (eager ``torch.ao`` int8 modules on fbgemm, quantize/dequantize per layer),
  TorchScript, frozen: the file ``export_int8`` writes.
* ``pt2e``: ``torchao``'s ``X86InductorQuantizer`` (prepare_pt2e / convert_pt2e), run (a) as the converted
  graph, (b) saved by ``torch.export.save`` and loaded back (what a plain ``.pt2`` runs), (c) compiled by
  Inductor (``torch.compile``, freezing on), (d) compiled ahead of time by AOTInductor into a ``.pt2`` package
  and loaded with ``torch._inductor.aoti_load_package``.
* ``fp32_inductor``: the fp32 subnet compiled by Inductor, the fair baseline for (c) and (d).
* ``nas_pt2``: what ``export_int8(fmt="pt2")`` writes: ``nas.quantize.pt2e``'s reference int8 graph with the
  fake-quant model's scales, AOTInductor-compiled, loaded with ``aoti_load_package``.

Writes a JSON with the timings (and the machine load when measured) to ``--out``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import time
import warnings
from pathlib import Path

import torch


def median_ms(routes: dict, x, reps: int, warmup: int = 3) -> dict[str, float]:
    """Median ms per route on ``x``; the routes take turns within each repetition, so that a machine whose
    load changes (others share it) slows them alike."""
    times: dict[str, list[float]] = {name: [] for name in routes}
    with torch.no_grad():
        for fn in routes.values():
            for _ in range(warmup):
                fn(x)
        for _ in range(reps):
            for name, fn in routes.items():
                t = time.perf_counter()
                fn(x)
                times[name].append(time.perf_counter() - t)
    return {name: round(1000 * statistics.median(v), 3) for name, v in times.items()}


def subnet(space_name: str, seed: int = 0):
    import supernets
    from search_spaces import get_space

    from ..evaluate import recalibrate_bn
    from .policy import split_arch

    torch.manual_seed(seed)
    space = get_space(space_name)
    supernet = supernets.create_supernet(space).eval()
    arch = space.with_bits(space.base.extremes()[0], 8, 8)
    base, policy = split_arch(space, arch)
    net = supernet.extract(base)
    calib = torch.randn(256, *net.input_shape)
    recalibrate_bn(net, [calib[:128], calib[128:]], 256)
    return net.eval(), policy, calib


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="resnet20-pooling+q")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--no-pt2e", action="store_true")
    ap.add_argument("--out", default="int8_latency.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    from ..export.fold import fold_batchnorm
    from .int8 import compare_outputs, to_int8
    from .ptq import quantize_subnet

    net, policy, calib = subnet(args.space)
    fake = quantize_subnet(net, policy, calib[:128])
    folded, _ = fold_batchnorm(net)
    routes = {"fp32": torch.jit.freeze(torch.jit.script(folded)),
              "ao": torch.jit.freeze(torch.jit.script(to_int8(fake).eval()))}
    check = {"ao": compare_outputs(routes["ao"], fake, calib[128:192])}
    out = {"space": args.space, "threads": 1, "load_before": os.getloadavg(), "ms": {}, "check_vs_fake": check,
           "notes": {}}
    for batch in (1, 32):
        x = calib[:batch].contiguous()
        here = dict(routes)
        try:  # what export_int8(fmt="pt2") writes: our reference int8 graph (our scales), AOTInductor
            from .pt2e import compile_package, to_reference

            path = Path("/tmp") / f"nas_int8_{os.getpid()}_{batch}.pt2"
            compile_package(to_reference(fake), x, path)
            here["nas_pt2"] = torch._inductor.aoti_load_package(str(path))
            check[f"nas_pt2_batch{batch}"] = compare_outputs(here["nas_pt2"], fake, calib[128:128 + batch])
        except Exception as exc:
            out["notes"][f"nas_pt2_error_batch{batch}"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        if not args.no_pt2e:
            try:
                here.update(_pt2e(folded, calib, batch, out["notes"]))
            except Exception as exc:  # torchao missing or failing: the eager route stands alone
                out["notes"][f"pt2e_error_batch{batch}"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        out["ms"][f"batch{batch}"] = median_ms(here, x, args.reps if batch == 1 else max(5, args.reps // 3))
        print(batch, out["ms"][f"batch{batch}"], flush=True)
    out["load_after"] = os.getloadavg()
    Path(args.out).write_text(json.dumps(out, indent=1))
    return out


def _pt2e(folded, calib, batch: int, notes: dict) -> dict:
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        X86InductorQuantizer,
        get_default_x86_inductor_quantization_config,
    )

    quantizer = X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config())
    example = (calib[:batch],)
    graph = torch.export.export(folded, example).module()
    prepared = prepare_pt2e(graph, quantizer)
    with torch.no_grad():
        for i in range(0, 128, batch):
            prepared(calib[i:i + batch])
    converted = convert_pt2e(prepared)
    fake_check = converted(calib[:batch])
    routes = {"pt2e_graph": converted}
    try:  # what a saved .pt2 of the converted graph runs after torch.export.load (no compilation)
        path = Path("/tmp") / f"pt2e_{os.getpid()}.pt2"
        torch.export.save(torch.export.export(converted, example), path)
        routes["pt2e_pt2_loaded"] = torch.export.load(path).module()
        notes[f"pt2e_pt2_bytes_batch{batch}"] = path.stat().st_size
        path.unlink()
    except Exception as exc:
        notes[f"pt2e_pt2_error_batch{batch}"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
    from torch._inductor import config

    config.freezing = True
    t = time.perf_counter()
    fp32 = torch.compile(copy.deepcopy(folded), dynamic=False)
    with torch.no_grad():
        fp32(calib[:batch])
    notes[f"fp32_compile_s_batch{batch}"] = round(time.perf_counter() - t, 1)
    routes["fp32_inductor"] = fp32
    try:  # AOTInductor: the converted graph compiled ahead of time into a .pt2 package (loads with torch alone)
        t = time.perf_counter()
        path = Path("/tmp") / f"pt2e_aoti_{os.getpid()}_{batch}.pt2"
        with torch.no_grad():
            torch._inductor.aoti_compile_and_package(torch.export.export(converted, example), package_path=str(path))
        routes["pt2e_aoti"] = torch._inductor.aoti_load_package(str(path))
        notes[f"pt2e_aoti_compile_s_batch{batch}"] = round(time.perf_counter() - t, 1)
        notes[f"pt2e_aoti_bytes_batch{batch}"] = path.stat().st_size
    except Exception as exc:
        notes[f"pt2e_aoti_error_batch{batch}"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
    t = time.perf_counter()
    compiled = torch.compile(converted, dynamic=False)
    with torch.no_grad():
        y = compiled(calib[:batch])
    notes[f"pt2e_compile_s_batch{batch}"] = round(time.perf_counter() - t, 1)
    notes[f"pt2e_inductor_vs_graph_maxdiff_batch{batch}"] = float((y - fake_check).abs().max())
    routes["pt2e_inductor"] = compiled
    return routes


if __name__ == "__main__":
    main()
