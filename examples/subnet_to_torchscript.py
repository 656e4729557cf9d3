"""Sample a subnet, extract it, recalibrate its BN statistics, export it as TorchScript, reload it.

Run: python examples/subnet_to_torchscript.py [--checkpoint ofa_mbv3.pth] [--out subnet.pt]
Without a checkpoint the supernet is randomly initialized (the flow is the same). Real use feeds
~2000 real training images to the recalibration; this example uses random images so that it runs
anywhere without data.
"""

import argparse

import numpy as np
import torch

from nas.evaluate import recalibrate_bn
from nas.export import export_subnet
from supernets import create_supernet
from supernets.checkpoint import load_supernet

parser = argparse.ArgumentParser()
parser.add_argument("--checkpoint", help="a nas-supernet or once-for-all OFAMobileNetV3 checkpoint")
parser.add_argument("--out", default="subnet.pt")
args = parser.parse_args()

supernet = load_supernet(args.checkpoint, "ofa-mbv3")[0] if args.checkpoint else create_supernet("ofa-mbv3")
arch = supernet.sample_active(np.random.default_rng(0))  # 1. sample
print("subnet:", supernet.space.arch_id(arch))

subnet = supernet.extract(arch)  # 2. extract a static module with copied weights
print(subnet.blocks[1])  # printing shows only the subnet's layers

r = arch["r"]
images = [torch.randn(16, 3, r, r) for _ in range(4)]  # replace with real training images
recalibrate_bn(subnet, images, n_images=64)  # 3. once-for-all's BN recalibration

result = export_subnet(supernet, arch, args.out, calibration=images, calibration_images=64)  # 4. export
print("files:", {k: str(v) for k, v in result.files.items()})

scripted = torch.jit.load(args.out)  # 5. reload with plain torch
x = torch.randn(1, 3, r, r)
with torch.no_grad():
    print("max |TorchScript - eager| =", float((scripted(x) - subnet.eval()(x)).abs().max()))
