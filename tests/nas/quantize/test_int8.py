"""Real int8 against the fake-quant simulation, and the exported files loading in a bare interpreter
(``python -I``, none of this project imported): TorchScript of fbgemm modules, and the AOTInductor ``.pt2``.

Measured (random supernets, 1 thread, load ~13 on 2 cores; the written file vs the fake-quant model on 64-128
calibration images; logits of magnitude ~1):

* ResNet20-pooling largest subnet, all int8: max |diff| 0.025, top-1 agreement 1.000 (TorchScript and .pt2).
* Same subnet, a mixed policy (4/8/32-bit weights, 8/32-bit inputs, both modes): max |diff| 0.026, agreement
  1.000 (TorchScript: 9 layers int8, 10 simulated, 3 fp32; .pt2: 3 int8, 16 simulated, as oneDNN takes
  symmetric weights only).
* OFA-MobileNetV3 (cifar-small) largest subnet, all int8, .pt2: max |diff| 0.21 on logits up to 1.16, agreement
  0.953 (78 layers, each requantized; a random net's logits lie close together, so top-1 flips easily).
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


def test_export_quantized_from_the_supernet(qspace, subnet, images, tmp_path):
    from nas.quantize.export import export_quantized, quantized_input_size
    from search_spaces.errors import InvalidInput

    supernet, base, _ = subnet
    arch = qspace.with_bits(base, 8, 8)
    assert quantized_input_size(supernet, qspace, arch) == (32, 32)
    report = export_quantized(supernet, qspace, arch, tmp_path / "q.pt", calibration=images[:64],
                              calibration_images=64, fmt="torchscript")
    assert report.int8_layers > 0 and report.simulated_layers == 0
    assert report.top1_agreement >= 0.9
    with pytest.raises(InvalidInput, match="allowed: pt2, torchscript"):
        export_quantized(supernet, qspace, arch, tmp_path / "q.onnx", calibration=images[:64], fmt="onnx")
    with pytest.raises(InvalidInput, match="fp32 architecture"):
        export_quantized(supernet, qspace, base, tmp_path / "q.pt", calibration=images[:64], fmt="torchscript")
