"""The inverted-residual block as a Triton kernel, for CUDA devices (the C++ kernel is the CPU one).

One program computes a tile of output pixels for a tile of output channels: for each chunk of middle
channels it expands the input pixels under each depthwise tap (``tl.dot``), applies the activation, sums
the taps, applies the activation, and accumulates the chunk's share of the projection (``tl.dot``). So
the expanded tensor never exists in memory. The price is that the expand is recomputed once per
depthwise tap and per output-channel tile. That trade suits a GPU, whose arithmetic is cheap next to a
round trip through its memory. Squeeze-excite needs the mean of the whole depthwise output first. So an SE
block runs the kernel twice: once for the channel sums (atomics), then, after the small gate matvecs in
torch, again for the projection.

Exactness: dots run in IEEE fp32 (``input_precision="ieee"``, no TF32), so results match the eager block
within the C++ kernel's 1e-4. Without a GPU the kernel runs, slowly, under Triton's interpreter
(``TRITON_INTERPRET=1``); that is how it was checked here, since no GPU was available.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from supernets.static.oplib import Block

from .inverted_residual import parse_inverted_residual

__all__ = ["TritonInvertedResidual", "available"]

_ACT_CODES = {"none": 0, "relu": 1, "relu6": 2, "h_swish": 3, "h_sigmoid": 4}


def available() -> bool:
    """Whether Triton imports here (it runs on CUDA devices, or anywhere under ``TRITON_INTERPRET=1``)."""
    return triton is not None


try:  # Triton is optional: the kernel exists where it imports
    import triton
    import triton.language as tl
except ImportError:
    triton = None

if triton is not None:
    @triton.jit
    def act(v, code: tl.constexpr):
        if code == 1:
            v = tl.maximum(v, 0.0)
        elif code == 2:
            v = tl.minimum(tl.maximum(v, 0.0), 6.0)
        elif code == 3:
            v = v * tl.minimum(tl.maximum(v + 3.0, 0.0), 6.0) / 6.0
        elif code == 4:
            v = tl.minimum(tl.maximum(v + 3.0, 0.0), 6.0) / 6.0
        return v

    @triton.jit
    def inverted_residual(x, we, be, wd, bd, wp, bp, gate, sums, y,
                          CIN, CM, COUT, H, W, HO, WO,
                          K: tl.constexpr, S: tl.constexpr, ACT: tl.constexpr, POST: tl.constexpr,
                          EXPAND: tl.constexpr, MODE: tl.constexpr, RESIDUAL: tl.constexpr,
                          BP: tl.constexpr, BM: tl.constexpr, BC: tl.constexpr, BCO: tl.constexpr):
        # MODE 0: plain block; 1: SE pass 1 (channel sums of the depthwise output); 2: SE pass 2 (gated)
        n = tl.program_id(0)
        pix = tl.program_id(1) * BP + tl.arange(0, BP)
        pmask = pix < HO * WO
        oy, ox = pix // WO, pix % WO
        co = tl.program_id(2) * BCO + tl.arange(0, BCO)
        comask = co < COUT
        out = tl.zeros((BCO, BP), dtype=tl.float32)
        for m0 in range(0, CM, BM):
            m = m0 + tl.arange(0, BM)
            mmask = m < CM
            dw = tl.zeros((BM, BP), dtype=tl.float32)
            for t in range(K * K):
                iy = oy * S - K // 2 + t // K
                ix = ox * S - K // 2 + t % K
                valid = pmask & (iy >= 0) & (iy < H) & (ix >= 0) & (ix < W)
                if EXPAND:
                    e = tl.zeros((BM, BP), dtype=tl.float32)
                    for c0 in range(0, CIN, BC):
                        c = c0 + tl.arange(0, BC)
                        xt = tl.load(x + ((n * CIN + c[:, None]) * H + iy[None, :]) * W + ix[None, :],
                                     mask=(c[:, None] < CIN) & valid[None, :], other=0.0)
                        wt = tl.load(we + m[:, None] * CIN + c[None, :], mask=mmask[:, None] & (c[None, :] < CIN),
                                     other=0.0)
                        e += tl.dot(wt, xt, input_precision="ieee")
                    e = act(e + tl.load(be + m, mask=mmask, other=0.0)[:, None], ACT)
                    e = tl.where(valid[None, :], e, 0.0)  # the depthwise conv pads the expanded map with zeros
                else:
                    e = tl.load(x + ((n * CIN + m[:, None]) * H + iy[None, :]) * W + ix[None, :],
                                mask=mmask[:, None] & valid[None, :], other=0.0)
                dw += e * tl.load(wd + m * (K * K) + t, mask=mmask, other=0.0)[:, None]
            dw = act(dw + tl.load(bd + m, mask=mmask, other=0.0)[:, None], ACT)
            dw = tl.where(mmask[:, None] & pmask[None, :], dw, 0.0)
            if MODE == 1:
                if tl.program_id(2) == 0:
                    tl.atomic_add(sums + n * CM + m, tl.sum(dw, axis=1), mask=mmask)
            else:
                if MODE == 2:
                    dw = dw * tl.load(gate + n * CM + m, mask=mmask, other=0.0)[:, None]
                wt = tl.load(wp + co[:, None] * CM + m[None, :], mask=comask[:, None] & mmask[None, :], other=0.0)
                out += tl.dot(wt, dw, input_precision="ieee")
        if MODE != 1:
            out += tl.load(bp + co, mask=comask, other=0.0)[:, None]
            omask = comask[:, None] & pmask[None, :]
            if RESIDUAL:
                out += tl.load(x + ((n * CIN + co[:, None]) * H + oy[None, :]) * W + ox[None, :], mask=omask,
                               other=0.0)
            out = act(out, POST)
            tl.store(y + ((n * COUT + co[:, None]) * HO + oy[None, :]) * WO + ox[None, :], out, mask=omask)


class TritonInvertedResidual(nn.Module):
    """An OFA-MobileNetV3 inverted-residual ``Block`` as the Triton kernel (inference: BN folded into the
    weights). Covers what ``FusedInvertedResidual`` covers (``parse_inverted_residual``); raises
    ``Unsupported`` (why) otherwise."""

    BP, BM, BC, BCO = 32, 32, 16, 32

    def __init__(self, block: Block):
        super().__init__()
        b = parse_inverted_residual(block)
        if b.expand is not None:
            self.register_buffer("we", b.expand[0].reshape(b.cm, b.cin).float().contiguous())
            self.register_buffer("be", b.expand[1].float().contiguous())
        else:
            self.we = self.be = None
        self.register_buffer("wd", b.depthwise[0].reshape(b.cm, -1).float().contiguous())
        self.register_buffer("bd", b.depthwise[1].float().contiguous())
        self.register_buffer("wp", b.project[0].reshape(b.cout, b.cm).float().contiguous())
        self.register_buffer("bp", b.project[1].float().contiguous())
        self.se = copy.deepcopy(b.se).eval() if b.se is not None else None  # the gate's small matvecs
        self.kernel, self.stride, self.act, self.post = b.kernel, b.stride, b.act, b.post
        self.residual, self.in_channels, self.mid_channels, self.out_channels = b.residual, b.cin, b.cm, b.cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if triton is None:
            raise RuntimeError("TritonInvertedResidual needs Triton: pip install triton")
        x = x.contiguous().float()
        n, _, h, w = x.shape
        ho, wo = (h - 1) // self.stride + 1, (w - 1) // self.stride + 1
        y = torch.empty((n, self.out_channels, ho, wo), device=x.device, dtype=torch.float32)
        grid = (n, triton.cdiv(ho * wo, self.BP), triton.cdiv(self.out_channels, self.BCO))
        dummy = self.wd
        args = dict(CIN=self.in_channels, CM=self.mid_channels, COUT=self.out_channels, H=h, W=w, HO=ho, WO=wo,
                    K=self.kernel, S=self.stride, ACT=_ACT_CODES[self.act], POST=_ACT_CODES[self.post],
                    EXPAND=self.we is not None, RESIDUAL=self.residual, BP=self.BP, BM=self.BM, BC=self.BC,
                    BCO=self.BCO)
        we = self.we if self.we is not None else dummy
        be = self.be if self.be is not None else dummy
        kernel = inverted_residual
        if self.se is None:
            kernel[grid](x, we, be, self.wd, self.bd, self.wp, self.bp, dummy, dummy, y, MODE=0, **args)
            return y
        sums = torch.zeros((n, self.mid_channels), device=x.device, dtype=torch.float32)
        kernel[grid](x, we, be, self.wd, self.bd, self.wp, self.bp, dummy, sums, y, MODE=1, **args)
        gate = self.se.gate(self.se.expand(self.se.relu(self.se.reduce(
            (sums / (ho * wo))[:, :, None, None]))))[:, :, 0, 0].contiguous()
        kernel[grid](x, we, be, self.wd, self.bd, self.wp, self.bp, gate, sums, y, MODE=2, **args)
        return y

    def extra_repr(self) -> str:
        return (f"{self.in_channels}->{self.mid_channels}->{self.out_channels}, k={self.kernel}, s={self.stride}, "
                f"act={self.act}, se={self.se is not None}, residual={self.residual}")
