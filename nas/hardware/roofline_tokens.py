"""Roofline kernels of the token ops vision transformers run (``search_spaces.transformer_ops``).

A matmul over tokens is a 1x1 convolution over a map of N = H*W + 1 positions, so its kernels take the
dense ``pw`` kind's overhead, throughput and bandwidth: the model is matmul-bound where the matmuls
are large and launch-bound where they are not. Attention launches five kernels (qkv, q k^T, softmax,
attention x v, proj; the residual add fused into proj, as TensorRT fuses it), the MLP two (GELU fused
into fc1), LayerNorm one reduction. No transformer layer was measured on the device: these rules
extend its convolution fit by their MACs and bytes.
"""

from __future__ import annotations

from .opspec import Op
from .roofline import BYTES_PER_ELEMENT as B
from .roofline import Kernel, register_kernels

__all__ = ["tokens"]


def tokens(op: Op) -> int:
    """Tokens of an op's input: the patch grid plus the class token."""
    h, w, _ = op.in_shape
    return h * w + 1


def _matmul(rows: int, inner: int, cols: int, extra_bytes: float = 0.0) -> Kernel:
    """[rows, inner] x [inner, cols] with a bias: the ``pw`` kernel of a 1x1 conv over ``rows`` positions."""
    return Kernel("pw", float(rows * inner * cols), float((rows * inner + rows * cols + inner * cols + cols) * B
                                                          + extra_bytes))


@register_kernels("attention")
def _attention(op: Op) -> tuple[Kernel, ...]:
    n, c, a, h = tokens(op), op.in_shape[2], op.mid, max(op.heads, 1)
    scores = h * n * n
    return (_matmul(n, c, 3 * a),
            Kernel("pw", float(n * n * a), float((2 * n * a + scores) * B)),  # q k^T, every head
            Kernel("eltwise", float(scores), float(2 * scores * B)),  # softmax
            Kernel("pw", float(n * n * a), float((scores + 2 * n * a) * B)),  # attention x v
            _matmul(n, a, c, n * c * B if op.residual else 0.0))


@register_kernels("mlp")
def _mlp(op: Op) -> tuple[Kernel, ...]:
    n, c, m = tokens(op), op.in_shape[2], op.mid
    return _matmul(n, c, m), _matmul(n, m, c, n * c * B if op.residual else 0.0)


@register_kernels("layernorm")
def _layernorm(op: Op) -> tuple[Kernel, ...]:
    e = tokens(op) * op.in_shape[2]
    return (Kernel("reduce", float(2 * e), float(2 * e * B)),)


@register_kernels("patch_embed")
def _patch_embed(op: Op) -> tuple[Kernel, ...]:
    (ih, iw, cin), (oh, ow, c) = op.in_shape, op.out_shape
    n = oh * ow + 1
    weights = cin * c * op.kernel**2
    return (Kernel("conv", float(op.macs), float((ih * iw * cin + oh * ow * c + weights) * B)),
            Kernel("eltwise", float(n * c), float(3 * n * c * B)))  # class token + position embedding


@register_kernels("spatial_reduction")
def _spatial_reduction(op: Op) -> tuple[Kernel, ...]:
    (h, w, c), (oh, ow, c2) = op.in_shape, op.out_shape
    e_in, e_out = (h * w + 1) * c, (oh * ow + 1) * c2
    out = [Kernel("reduce", float(2 * e_in), float(2 * e_in * B)),  # LayerNorm
           Kernel("conv", float(oh * ow * 9 * c * c2), float((h * w * c + oh * ow * c2 + 9 * c * c2) * B)),
           _matmul(1, c, c2),  # the class token's linear
           Kernel("eltwise", float(e_out), float(3 * e_out * B))]  # position embedding, concatenation
    if op.residual:  # 2x2 average pooling of the input, zero-padded, added
        out.append(Kernel("dw", float(4 * oh * ow * c), float((h * w * c + 2 * e_out) * B)))
    return tuple(out)


@register_kernels("cls_head")
def _cls_head(op: Op) -> tuple[Kernel, ...]:
    c, n = op.in_shape[2], op.out_shape[2]
    return Kernel("reduce", float(2 * c), float(2 * c * B)), _matmul(1, c, n)
