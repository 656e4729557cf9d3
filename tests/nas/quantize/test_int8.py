"""Real int8 (fbgemm kernels) against the fake-quant simulation, and the exported TorchScript file loading in a
bare interpreter (``python -I``, none of this project imported).

Measured on the all-int8 largest ResNet20-pooling subnet (random supernet, synthetic images; 1 thread, load ~9
on 2 cores): int8 file vs fake-quant model max |diff| ~0.02 on logits of magnitude ~1, top-1 agreement 1.0 on
64 images; mixed policies (4/8/32-bit weights, 8/32-bit inputs) agree the same way.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from nas.quantize import policy_for, quantize_subnet
from nas.quantize.int8 import Int8Leaf, compare_outputs, export_int8, to_int8


def test_int8_model_agrees_with_fake_quant(qspace, subnet, images):
    _, base, net = subnet
    policy = policy_for(qspace, qspace.with_bits(base, 8, 8))
    fake = quantize_subnet(net, policy, images[:64])
    real = to_int8(fake)
    assert sum(isinstance(m, Int8Leaf) for m in real.modules()) == len(policy.layers)
    diff, agree = compare_outputs(real, fake, images[128:192])
    with torch.no_grad():
        scale = float(fake(images[128:192]).abs().max())
    assert agree >= 0.9 and diff < 0.1 * scale, (diff, agree, scale)


def test_export_int8_mixed_loads_without_the_project(qspace, subnet, images, tmp_path):
    _, base, net = subnet
    rng = np.random.default_rng(2)
    n = len(qspace.quant_layers)
    arch = {**base, "wbits": rng.choice([4, 8, 8, 32], n).tolist(), "abits": rng.choice([8, 8, 32], n).tolist(),
            "wmode": rng.choice(["symmetric", "asymmetric"], n).tolist()}
    policy = policy_for(qspace, arch)
    out = tmp_path / "subnet_int8.pt"
    report = export_int8(net, policy, images[:64], out, fmt="torchscript")
    assert report.int8_layers > 0 and report.simulated_layers > 0 and out.stat().st_size == report.bytes
    assert report.top1_agreement >= 0.9, report
    fake = quantize_subnet(net, policy, images[:64])
    x = images[128:160]
    with torch.no_grad():
        expected = fake(x)
    torch.save({"x": x, "y": expected}, tmp_path / "io.pt")
    code = (
        "import sys, torch\n"
        "torch.backends.quantized.engine = 'fbgemm'\n"
        f"m = torch.jit.load({str(out)!r})\n"
        f"io = torch.load({str(tmp_path / 'io.pt')!r})\n"
        "y = m(io['x'])\n"
        "extra = {'quantization.json': ''}\n"
        f"torch.jit.load({str(out)!r}, _extra_files=extra)\n"
        "note = extra['quantization.json']\n"
        "note = note.decode() if isinstance(note, bytes) else note\n"
        "assert '\"runs\": \"int8\"' in note, note\n"
        "bad = [k for k in sys.modules if k.split('.')[0] in ('nas', 'supernets', 'search_spaces')]\n"
        "assert not bad, bad\n"
        "print(float((y - io['y']).abs().max()), float((y.argmax(1) == io['y'].argmax(1)).float().mean()))\n")
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    diff, agree = map(float, done.stdout.split()[-2:])
    assert agree >= 0.9 and diff < 0.1 * float(expected.abs().max()), done.stdout


def _bare_python(code: str, cwd) -> str:
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=600, cwd=cwd)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow  # AOTInductor compiles C++: about a minute on a busy CPU
def test_export_pt2_aoti_mixed_loads_without_the_project(qspace, subnet, images, tmp_path):
    _, base, net = subnet
    rng = np.random.default_rng(4)
    n = len(qspace.quant_layers)
    arch = {**base, "wbits": rng.choice([4, 8, 8, 32], n).tolist(), "abits": rng.choice([8, 8, 32], n).tolist(),
            "wmode": rng.choice(["symmetric", "symmetric", "asymmetric"], n).tolist()}
    policy = policy_for(qspace, arch)
    out = tmp_path / "subnet_int8.pt2"
    report = export_int8(net, policy, images[:64], out, batch_size=16)
    assert report.format == "pt2" and report.int8_layers > 0 and report.simulated_layers > 0
    assert report.top1_agreement >= 0.9, report
    assert (tmp_path / "subnet_int8.pt2.quantization.json").is_file()
    fake = quantize_subnet(net, policy, images[:64])
    x = images[128:144]
    with torch.no_grad():
        expected = fake(x)
    torch.save({"x": x, "y": expected}, tmp_path / "io.pt")
    stdout = _bare_python(
        "import sys, torch\n"
        f"m = torch._inductor.aoti_load_package({str(out)!r})\n"
        f"io = torch.load({str(tmp_path / 'io.pt')!r})\n"
        "y = m(io['x'])\n"
        "bad = [k for k in sys.modules if k.split('.')[0] in ('nas', 'supernets', 'search_spaces')]\n"
        "assert not bad, bad\n"
        "print(float((y - io['y']).abs().max()), float((y.argmax(1) == io['y'].argmax(1)).float().mean()))\n",
        tmp_path)
    diff, agree = map(float, stdout.split()[-2:])
    assert agree >= 0.9 and diff < 0.1 * float(expected.abs().max()), stdout
