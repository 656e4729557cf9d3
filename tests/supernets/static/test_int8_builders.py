"""The int8 forms of quantizable ops (an ``S+q`` space's int8 layers): oneDNN kernels that TorchScript freezes
and that compute the fp32 op up to int8 rounding (and, on CPUs without VNNI, oneDNN's u8 x s8 saturation)."""

from __future__ import annotations

import warnings

import pytest
import torch

from search_spaces import get_space
from supernets.static import oplib


def _int8_ops(space_name: str, limit: int):
    ops = [op for op in get_space(space_name).structure("layer").unique_ops().values() if op.precision]
    by_kind = {op.kind: op for op in ops}  # every kind, then a spread of shapes
    return list(by_kind.values()) + ops[::max(1, len(ops) // limit)]


@pytest.mark.parametrize("space_name", ["resnet20-pooling+q", "ofa-mbv3-cifar+q[r=32]"])
def test_int8_ops_track_their_fp32_op_and_freeze(space_name):
    torch.manual_seed(0)
    ops = _int8_ops(space_name, 24)
    assert {op.kind for op in ops} >= {"conv", "linear"} and all(op.key.endswith("-prec:int8") for op in ops)
    for op in ops:
        spec = op.as_spec()
        fp32, shape = oplib.build_op({k: v for k, v in spec.items() if k != "precision"}, 1)
        int8 = oplib._int8(spec, fp32.eval()).eval()  # the same weights as the fp32 module
        assert type(oplib.build_op(spec, 1)[0]) is type(int8)
        x = torch.randn(2, *shape)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            frozen = torch.jit.freeze(torch.jit.script(int8))
            a, b = frozen(x), fp32(x)
        assert a.shape == b.shape
        corr = torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1]
        assert corr > 0.9, (op.key, float(corr))


def test_an_op_without_an_int8_kernel_is_refused():
    pool = next(op for op in get_space("resnet20-pooling").structure("layer").unique_ops().values()
                if op.kind == "maxpool")
    with pytest.raises(ValueError, match="no int8 kernel"):
        oplib.build_op(pool.as_spec() | {"precision": "int8"}, 1)
