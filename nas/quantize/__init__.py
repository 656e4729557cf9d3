"""Quantized subnets: per-layer bits (``S+q`` archs) as a fake-quant simulation, real int8 on x86 kernels.

* ``policy_for(space, arch)`` / ``split_arch``: an ``S+q`` arch's bits per layer, placed in the extracted net.
* ``quantize_subnet(net, policy, calibration, observer)``: post-training quantization (``ptq``).
* ``to_int8`` / ``export_int8``: int8 layers on PyTorch's x86 int8 kernels (``int8``): an AOTInductor ``.pt2``
  of PT2E's reference int8 graph (``pt2e``, the default: the faster) or TorchScript of fbgemm modules.
* ``export_quantized``: what ``nas export --space S+q`` runs (``export``).
* ``PTQTransform``: the hook that makes measured accuracy quantize (``measure``).
* ``python -m nas.quantize.bench``: int8 vs fp32 latency of the routes (``bench``).
"""

from .observers import OBSERVERS
from .policy import LayerBits, QuantPolicy, policy_for, require_fp32, require_quantized, split_arch
from .ptq import quantize_subnet

__all__ = ["OBSERVERS", "LayerBits", "QuantPolicy", "policy_for", "split_arch", "require_fp32", "require_quantized",
           "quantize_subnet", "to_int8", "export_int8"]


def __getattr__(name):  # int8 pulls in torch.ao (deprecated, warns): only when asked for
    if name in ("to_int8", "export_int8"):
        from . import int8

        return getattr(int8, name)
    raise AttributeError(name)
