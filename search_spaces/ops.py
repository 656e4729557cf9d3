"""Ops: the kernels a subnet runs, as plain data (no torch), with a canonical key per op.

An op has a *kind* (``conv``, ``dwconv``, ``se``, ``pool``, ``linear``, ``maxpool``, ``avgpool``, ...),
input and output shapes ``(H, W, C)`` and a few attributes. A *composite* op (an inverted-residual
block, a bottleneck) is written as its parts: the main path, an optional shortcut path, whether the
two are added, and the activation after the add. Everything else derives from that one description:

* the canonical ``key`` that latency tables are keyed by (the format of the first tables, so shipped
  and imported tables keep loading),
* MACs and params (once-for-all's convention: conv and linear multiply-accumulates; BN scale and shift
  count as params), and the work including elementwise passes (what latency fits scale with),
* the *layer* view of a composite (TensorRT-style: every conv with its BN and activation fused, the
  residual add fused into the last conv of the main path, after the shortcut's own kernels),
* the module that runs it (``supernets.static.oplib`` builds every kind from ``as_spec()``).

Primitive kinds are registered with their counting rules; families add kinds with ``register_op_kind``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Mapping

from .errors import InvalidInput

__all__ = ["Op", "OpKind", "OP_KINDS", "register_op_kind", "op_kind", "op_from_row", "FUSIONS", "check_fusion",
           "KEY_FORMATS", "register_key_format", "key_parser"]

#: how a subnet splits into the kernels a target runs: ``block`` (a composite is one kernel: block-fusion
#: kernels, TorchScript on CPUs, once-for-all's phone tables) or ``layer`` (TensorRT-style fused layers)
FUSIONS = ("block", "layer")


def check_fusion(fusion: str) -> str:
    if fusion not in FUSIONS:
        raise InvalidInput(f"unknown fusion mode {fusion!r}; known: {', '.join(FUSIONS)}")
    return fusion


@dataclass(frozen=True)
class Op:
    """One kernel. ``mid`` is a composite's inner width, or the squeeze width of an ``se`` op; ``se`` is
    a composite's squeeze-excite width (0: none); ``residual`` on a primitive adds a tensor of its output
    shape (its own input when the shapes agree); ``fused`` names what runs as this one kernel."""

    kind: str
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    kernel: int = 1
    stride: int = 1
    mid: int = 0
    se: int = 0
    act: str = "none"
    bn: bool = False
    residual: bool = False
    fused: str = ""
    heads: int = 0  # attention heads of a multi-head attention op (0: not attention)
    # the kernels it runs on: "" (fp32) or "int8" (a quantized primitive on int8 kernels); a composite lists
    # its primitives' ("fp32,int8,...", shortcut first) when any is int8. Only set by S+q spaces
    # (``search_spaces.quantization.run_precision``), so fp32 keys are what they always were.
    precision: str = ""
    # not part of the identity (the key): where the op sits, and how a composite is made
    name: str = field(default="", compare=False)
    parts: tuple["Op", ...] = field(default=(), compare=False)
    shortcut: tuple["Op", ...] = field(default=(), compare=False)
    post_act: str = field(default="none", compare=False)
    # the bits a quantized subnet runs a quantizable primitive at (``search_spaces.quantization``): weight and
    # input-activation bit widths and the weight mode ("symmetric"/"asymmetric", "" at 32-bit weights). Not
    # part of the identity: what a latency table tells apart is the kernel they run on (``precision``).
    wbits: int = field(default=32, compare=False)
    abits: int = field(default=32, compare=False)
    wmode: str = field(default="", compare=False)

    @property
    def key(self) -> str:
        i, o = self.in_shape, self.out_shape
        return (f"{self.kind}-in:{i[0]}x{i[1]}x{i[2]}-out:{o[0]}x{o[1]}x{o[2]}-k:{self.kernel}-s:{self.stride}"
                f"-mid:{self.mid}-se:{self.se}-act:{self.act}-bn:{int(self.bn)}-res:{int(self.residual)}"
                f"-fused:{self.fused}" + (f"-heads:{self.heads}" if self.heads else "")
                + (f"-prec:{self.precision}" if self.precision else ""))

    @property
    def is_composite(self) -> bool:
        return bool(self.parts)

    @property
    def quantizable(self) -> bool:
        """Whether this primitive has weights that a bit width applies to (its kind declares ``weights``)."""
        return not self.parts and _kind(self).weights is not None

    @property
    def quantized(self) -> bool:
        return self.wbits < 32 or self.abits < 32

    # ------------------------------------------------------------------ counting
    def _primitives(self) -> tuple["Op", ...]:
        return (*self.shortcut, *self.parts) if self.parts else (self,)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of convs and linear layers (once-for-all's convention)."""
        return sum(_kind(op).macs(op) for op in self._primitives())

    @property
    def params(self) -> int:
        return sum(_kind(op).params(op) for op in self._primitives())

    @property
    def work(self) -> float:
        """MACs plus one unit per element of each pooling or gating pass (what latency fits scale with)."""
        return float(sum(_kind(op).work(op) for op in self._primitives()))

    # --------------------------------------------------------------------- views
    def layer_ops(self) -> tuple["Op", ...]:
        """The TensorRT-style kernels: the shortcut's, then the main path with the add (and the
        activation after it) fused into its last conv. A primitive is its own layer."""
        if not self.parts:
            return (self,)
        *head, last = self.parts
        if self.residual:
            fused = last.fused + "+add" + ("+act" if self.post_act != "none" else "")
            act = self.post_act if self.post_act != "none" else last.act
            last = replace(last, residual=True, act=act, fused=fused)
        return (*self.shortcut, *head, last)

    def as_row(self) -> dict:
        """The flat dict latency tables and the profiler use (identity fields only)."""
        (ih, iw, ic), (oh, ow, oc) = self.in_shape, self.out_shape
        d = {k: v for k, v in asdict(self).items() if k in _ROW_FIELDS}
        del d["in_shape"], d["out_shape"]
        if not self.heads:  # only attention ops carry the column (older tables have none)
            del d["heads"]
        if not self.precision:  # only int8-kernel ops of S+q spaces carry it
            del d["precision"]
        return {"key": self.key, **d, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
                "bn": int(self.bn), "residual": int(self.residual)}

    def as_spec(self) -> dict:
        """``as_row`` plus how to build it: name, and a composite's parts, shortcut and post-add activation."""
        spec = self.as_row() | {"name": self.name}
        if self.quantized:
            spec |= {"wbits": self.wbits, "abits": self.abits, "wmode": self.wmode}
        if self.parts:
            spec |= {"parts": [p.as_spec() for p in self.parts], "shortcut": [p.as_spec() for p in self.shortcut],
                     "post_act": self.post_act}
        return spec

    def renamed(self, name: str) -> "Op":
        return replace(self, name=name)


_ROW_FIELDS = ("kind", "in_shape", "out_shape", "kernel", "stride", "mid", "se", "act", "bn", "residual", "fused",
               "heads", "precision")


def _elements(shape) -> int:
    h, w, c = shape
    return h * w * c


# ----------------------------------------------------------------------------- kinds
@dataclass(frozen=True)
class OpKind:
    """Counting rules of a primitive kind: MACs, params and work (MACs + elementwise passes).

    A *quantizable* kind declares ``weights`` (its weight elements, the params a weight bit width applies
    to; the rest, BN and biases, stay fp32) and ``channels`` (output channels: one scale and zero point
    each under per-channel quantization). Kinds without weights (pooling) have no bits of their own.
    """

    name: str
    macs: Callable[[Op], int]
    params: Callable[[Op], int]
    work: Callable[[Op], float]
    doc: str = ""
    weights: Callable[[Op], int] | None = None
    channels: Callable[[Op], int] | None = None


OP_KINDS: dict[str, OpKind] = {}


def register_op_kind(kind: OpKind) -> OpKind:
    if kind.name in OP_KINDS:
        raise InvalidInput(f"op kind {kind.name!r} is already registered")
    OP_KINDS[kind.name] = kind
    return kind


def op_kind(op: Op) -> OpKind:
    """The registered kind of a primitive op (``InvalidInput`` for unknown kinds)."""
    return _kind(op)


def _kind(op: Op) -> OpKind:
    try:
        return OP_KINDS[op.kind]
    except KeyError:
        raise InvalidInput(f"unknown op kind {op.kind!r} (primitive kinds: {', '.join(sorted(OP_KINDS))}); "
                           f"composite ops list their parts") from None


def _bn(op: Op) -> int:
    return 2 * op.out_shape[2] if op.bn else 0


def _conv_macs(op: Op) -> int:
    (_, _, ic), (oh, ow, oc) = op.in_shape, op.out_shape
    return ic * oc * op.kernel**2 * oh * ow


def _dw_macs(op: Op) -> int:
    oh, ow, oc = op.out_shape
    return oc * op.kernel**2 * oh * ow


def _se_macs(op: Op) -> int:
    return 2 * op.in_shape[2] * op.mid


def _linear_macs(op: Op) -> int:
    return op.in_shape[2] * op.out_shape[2]


def _out_channels(op: Op) -> int:
    return op.out_shape[2]


register_op_kind(OpKind("conv", _conv_macs, lambda op: op.in_shape[2] * op.out_shape[2] * op.kernel**2 + _bn(op),
                        _conv_macs, "dense kxk conv (+BN, act, residual add)",
                        lambda op: op.in_shape[2] * op.out_shape[2] * op.kernel**2, _out_channels))
register_op_kind(OpKind("dwconv", _dw_macs, lambda op: op.out_shape[2] * op.kernel**2 + _bn(op),
                        _dw_macs, "depthwise kxk conv (+BN, act)", lambda op: op.out_shape[2] * op.kernel**2,
                        _out_channels))
register_op_kind(OpKind("se", _se_macs, lambda op: 2 * op.in_shape[2] * op.mid + op.mid + op.in_shape[2],
                        lambda op: _se_macs(op) + 2 * _elements(op.in_shape),
                        "squeeze-excite: mean, 1x1 (ReLU), 1x1, h-sigmoid gate; mid = squeeze width (its two "
                        "1x1 convs quantize as one layer; mean, gate and multiply stay fp32)",
                        lambda op: 2 * op.in_shape[2] * op.mid, lambda op: op.mid + op.in_shape[2]))
register_op_kind(OpKind("pool", lambda op: 0, lambda op: 0, lambda op: _elements(op.in_shape),
                        "global average pooling to 1x1"))
register_op_kind(OpKind("linear", _linear_macs, lambda op: op.in_shape[2] * op.out_shape[2] + op.out_shape[2],
                        _linear_macs, "fully connected layer with bias on a flattened 1x1 map",
                        _linear_macs, _out_channels))
register_op_kind(OpKind("maxpool", lambda op: 0, lambda op: 0, lambda op: op.kernel**2 * _elements(op.out_shape),
                        "kxk max pooling, padding (k - 1) // 2"))
register_op_kind(OpKind("avgpool", lambda op: 0, lambda op: 0, lambda op: op.kernel**2 * _elements(op.out_shape),
                        "kxk average pooling without padding (ceil mode), e.g. a strided shortcut"))


def op_from_row(row: Mapping[str, Any]) -> Op:
    """The op a flat table row describes (composites come back without their parts)."""
    return Op(str(row["kind"]), (int(row["in_h"]), int(row["in_w"]), int(row["in_c"])),
              (int(row["out_h"]), int(row["out_w"]), int(row["out_c"])), int(row["kernel"]), int(row["stride"]),
              int(row["mid"]), int(row["se"]), str(row["act"]), bool(int(row["bn"])), bool(int(row["residual"])),
              str(row["fused"]), _heads(row.get("heads")), _precision(row.get("precision")))


def _precision(value: Any) -> str:
    """A row's kernel precision: blank (NaN where a table mixes fp32 and int8 ops) or missing is fp32."""
    return "" if value is None or value != value else str(value)


def _heads(value: Any) -> int:
    """A row's attention heads: blank (NaN in a table mixing attention with other ops) or missing is 0."""
    try:
        return 0 if value is None or value != value or value == "" else int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"heads={value!r} in a latency-table row is not a whole number") from None


# ----------------------------------------------------------------------------- foreign keys
#: other projects' latency-table key grammars: format name -> parser(key) -> Op (families register theirs)
KEY_FORMATS: dict[str, Callable[[str], Op]] = {}


def register_key_format(name: str):
    def deco(parser: Callable[[str], Op]) -> Callable[[str], Op]:
        if name in KEY_FORMATS:
            raise InvalidInput(f"latency-table key format {name!r} is already registered")
        KEY_FORMATS[name] = parser
        return parser

    return deco


def key_parser(name: str) -> Callable[[str], Op]:
    if name not in KEY_FORMATS:
        raise InvalidInput(f"unknown latency-table key format {name!r}; known: {', '.join(sorted(KEY_FORMATS))}")
    return KEY_FORMATS[name]
