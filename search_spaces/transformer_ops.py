"""Primitive op kinds of vision transformers (ViT-ResNAS), registered with their counting rules.

Tokens are ``[B, 1 + H*W, C]``: a class token, then the patch tokens row-major. An op's shapes
``(H, W, C)`` are the patch grid and the width, so an op on tokens sees ``N = H*W + 1`` of them.
MACs count matmuls and convs (attention's ``q k^T`` and ``attn v`` included); params count weights,
biases, LayerNorm scales and shifts, class tokens and position embeddings. ``work`` adds one unit per
element of each elementwise pass (softmax, LayerNorm, GELU, position-embedding adds), what latency
fits scale with. Kinds with weight matrices declare ``weights``/``channels`` so the ``S+q`` overlay
quantizes them (biases, LayerNorm, tokens and position embeddings stay fp32).

Importing this module registers the kinds once (``search_spaces.vit_resnas`` imports it).
"""

from __future__ import annotations

from .ops import Op, OpKind, register_op_kind

__all__ = ["tokens", "TRANSFORMER_KINDS"]


def tokens(shape: tuple[int, int, int]) -> int:
    """Tokens of a ``(H, W, C)`` patch grid: the class token and ``H*W`` patch tokens."""
    return shape[0] * shape[1] + 1


def _grid(shape: tuple[int, int, int]) -> int:
    return shape[0] * shape[1]


# patch_embed: conv kxk stride k (mid -> C, bias), class token prepended, position embedding added
def _pe_weights(op: Op) -> int:
    return op.in_shape[2] * op.out_shape[2] * op.kernel**2


def _pe_macs(op: Op) -> int:
    return _grid(op.out_shape) * _pe_weights(op)


def _pe_params(op: Op) -> int:
    c = op.out_shape[2]
    return _pe_weights(op) + c + c + tokens(op.out_shape) * c


# attention: qkv Linear(C, 3A), softmax(q k^T / sqrt(A/h)) v, proj Linear(A, C); A = mid, h = heads
def _attn_macs(op: Op) -> int:
    n, c, a = tokens(op.in_shape), op.in_shape[2], op.mid
    return n * c * 3 * a + 2 * n * n * a + n * a * c


def _attn_weights(op: Op) -> int:
    return 4 * op.in_shape[2] * op.mid


def _attn_params(op: Op) -> int:
    return _attn_weights(op) + 3 * op.mid + op.in_shape[2]


def _attn_work(op: Op) -> float:
    n = tokens(op.in_shape)
    return _attn_macs(op) + n * n * op.heads  # the softmax over every head's N x N scores


# mlp: fc1 Linear(C, M), GELU, fc2 Linear(M, C); M = mid
def _mlp_weights(op: Op) -> int:
    return 2 * op.in_shape[2] * op.mid


def _mlp_macs(op: Op) -> int:
    return tokens(op.in_shape) * _mlp_weights(op)


def _mlp_params(op: Op) -> int:
    return _mlp_weights(op) + op.mid + op.in_shape[2]


# spatial_reduction: LN(C), conv 3x3 stride 2 (C -> C2, bias), new position embedding; class token Linear(C, C2)
def _sr_weights(op: Op) -> int:
    c, c2 = op.in_shape[2], op.out_shape[2]
    return op.kernel**2 * c * c2 + c * c2


def _sr_macs(op: Op) -> int:
    c, c2 = op.in_shape[2], op.out_shape[2]
    return _grid(op.out_shape) * op.kernel**2 * c * c2 + c * c2


def _sr_params(op: Op) -> int:
    c, c2 = op.in_shape[2], op.out_shape[2]
    return op.kernel**2 * c * c2 + c2 + 2 * c + _grid(op.out_shape) * c2 + c * c2 + c2


def _sr_work(op: Op) -> float:
    norm, pos = tokens(op.in_shape) * op.in_shape[2], _grid(op.out_shape) * op.out_shape[2]
    shortcut = _grid(op.in_shape) * op.in_shape[2] + pos if op.residual else 0  # 2x2 average, then the add
    return _sr_macs(op) + norm + pos + shortcut


# cls_head: LN(C) on the class token, Linear(C, n)
def _head_macs(op: Op) -> int:
    return op.in_shape[2] * op.out_shape[2]


TRANSFORMER_KINDS = (
    OpKind("patch_embed", _pe_macs, _pe_params, lambda op: _pe_macs(op) + tokens(op.out_shape) * op.out_shape[2],
           "conv kxk stride k with bias to tokens, class token prepended, position embedding added",
           _pe_weights, lambda op: op.out_shape[2]),
    OpKind("attention", _attn_macs, _attn_params, _attn_work,
           "multi-head self-attention: qkv Linear(C, 3A), softmax(q k^T / sqrt(A/h)) v, proj Linear(A, C); "
           "mid = A, heads = h", _attn_weights, lambda op: 3 * op.mid + op.in_shape[2]),
    OpKind("mlp", _mlp_macs, _mlp_params,
           lambda op: _mlp_macs(op) + tokens(op.in_shape) * op.mid,
           "fc1 Linear(C, M), exact GELU, fc2 Linear(M, C); mid = M", _mlp_weights,
           lambda op: op.mid + op.in_shape[2]),
    OpKind("layernorm", lambda op: 0, lambda op: 2 * op.in_shape[2],
           lambda op: tokens(op.in_shape) * op.in_shape[2], "LayerNorm(C, eps 1e-6) over every token"),
    OpKind("spatial_reduction", _sr_macs, _sr_params, _sr_work,
           "patch tokens: LN, conv 3x3 stride 2 with bias, new position embedding; class token: Linear(C, C2); "
           "residual: + 2x2 average pooling (and the class token) zero-padded to C2",
           _sr_weights, lambda op: 2 * op.out_shape[2]),
    OpKind("cls_head", _head_macs, lambda op: 2 * op.in_shape[2] + _head_macs(op) + op.out_shape[2],
           lambda op: _head_macs(op) + op.in_shape[2], "LayerNorm(C) on the class token, then Linear(C, n)",
           _head_macs, lambda op: op.out_shape[2]),
)

for _kind in TRANSFORMER_KINDS:
    register_op_kind(_kind)
