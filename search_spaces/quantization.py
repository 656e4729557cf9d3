"""``S+q``: per-layer bit widths over any structured space (an overlay, not a fork).

``get_space("ofa-mbv3+q")`` is ``ofa-mbv3`` plus, per *quantizable layer position* of the base space,
a weight bit width ``wbits`` in {4, 8, 32}, an input-activation bit width ``abits`` in {8, 32} and
SimQ-NAS's weight mode ``wmode`` in {symmetric, asymmetric}. 32 means the layer runs in fp32.

Which layers are quantizable comes from the structure contract: every primitive op whose kind declares
``weights`` (``search_spaces.ops.OpKind``): ``conv``, ``dwconv``, ``linear`` and ``se`` (its two 1x1
convs as one layer; its mean, gate and channel multiply stay fp32). Pooling (``pool``, ``maxpool``,
``avgpool``) has no weights and no bits of its own; BN is folded into its conv (its 2 params per
channel count at fp32, as biases do). A position is one such primitive in one slot of the base
structure, named ``<slot>.<part>`` (``blocks.3.expand``, ``layer2.shortcut``, ``classifier``;
``space.quant_layers`` lists them in execution order), so every possible block's convs have genes.

* The arch is the base arch plus ``wbits``, ``abits`` and ``wmode`` lists, one value per position.
* The genome is the base genome followed by the bits genes (wbits x P, abits x P, wmode x P).
* Bits of a layer the subnet does not run (a block past its stage's depth) are accepted and
  canonicalized away: ``active_mask`` marks them inactive, the canonical genome sets them to the
  fp32 option (and ``wmode`` of a 32-bit-weight layer to the first mode), ``arch_id`` shows ``-``.
  A list of the wrong length is an error.
* Names: one bracket, at the end: ``ofa-mbv3+q[r=160,wbits=8]``; ``ofa-mbv3[r=160]+q[wbits=8]`` is read as
  the same space. ``S+q[wbits=8]`` is all-INT8 weights; an overlay of an overlay (``S+q+q``) is refused.
* ``layers(arch)`` returns the base op list with ``wbits``/``abits``/``wmode`` set on every quantizable
  primitive (``Op.as_spec()`` carries them for quantized ones), so an extracted subnet knows each
  layer's bits, and ``precision="int8"`` on those that run on int8 kernels (``run_precision``).
* Latency knows the bits through the kernels they run on: ``structure()`` is the base's with every
  slot's variants multiplied by which of its quantizable layers run int8 (2**k per slot of k such
  layers; nothing when the restriction rules int8 out), and ``variant_index`` picks among them, so an
  int8 layer has its own op key (``-prec:int8``) and latency-table entry, an fp32 one the base's.
* ``bit_counts(genomes)``: model bytes (weights at their widths, packed; per output channel an fp32
  scale and, asymmetric, an int32 zero point; per quantized input an fp32 scale and int32 zero point;
  everything else fp32) and BitOPs (sum over layers of MACs x wbits x abits; 32 x 32 elsewhere).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from ._registry import get_space, list_spaces, register_overlay
from ._space import Arch, Choice, SearchSpace, _hashable
from .errors import InvalidArchitecture, InvalidInput, NasError
from .names import format_space_name, format_value
from .ops import Op, op_kind
from .quant_layers import QUANT_KEYS, QuantLayer, layer_positions, map_quantizable, quantizable_layers, run_precision
from .quant_structure import Int8Variants
from .structure import SlotSpec, Structured

__all__ = ["QuantizedSpace", "QuantLayer", "InvalidBits", "quantization_overlay", "bit_counts", "run_precision",
           "INT8_KERNELS", "WBITS", "ABITS", "WMODES", "SCALE_BYTES", "ZERO_POINT_BYTES", "QUANT_KEYS"]

WBITS = (4, 8, 32)
ABITS = (8, 32)
WMODES = ("symmetric", "asymmetric")
SCALE_BYTES = 4  # fp32 scale per output channel (weights) or per tensor (activations)
ZERO_POINT_BYTES = 4  # int32 zero point: asymmetric weights per channel, quantized activations per tensor
_WHAT = {"wbits": "weight bit widths", "abits": "activation bit widths", "wmode": "weight modes"}
#: which layers run on int8 kernels, as ``nas export``'s default int8 file (an AOTInductor ``.pt2``) runs them
INT8_KERNELS = ("8-bit symmetric weights on 8-bit inputs run on oneDNN's int8 kernels; every other width runs "
                "fp32 kernels as it does in the exported file (4-bit and asymmetric weights simulated, "
                "weight-only quantization dequantized at load)")


class InvalidBits(InvalidArchitecture, InvalidInput):
    """Bits, a bits restriction or an overlay that the quantization overlay does not allow."""


class QuantizedSpace(Int8Variants, Structured, SearchSpace):
    """A structured space with per-layer weight/activation bit widths and weight modes (see the module doc)."""

    restriction_error = InvalidBits  # what get_space raises for a bad restriction of this space

    def __init__(self, base: SearchSpace, wbits: Sequence[int] = WBITS, abits: Sequence[int] = ABITS,
                 wmode: Sequence[str] = WMODES, *, family: str | None = None,
                 positions: Sequence[QuantLayer] | None = None):
        if isinstance(base, QuantizedSpace):
            raise InvalidBits(f"{base.name} already has bits: an overlay of an overlay (+q+q) is not supported; "
                              f"restrict it instead (e.g. {base.family}[wbits=8])")
        if not isinstance(base, Structured):
            raise InvalidBits(f"+q needs a space that declares its structure (which layers it runs); {base.name} "
                              f"declares none (structured spaces: {', '.join(_structured_spaces())})")
        self.base = base
        self.quant_layers: tuple[QuantLayer, ...] = tuple(positions) if positions is not None else layer_positions(base)
        if not self.quant_layers:
            raise InvalidBits(f"space {base.name} has no quantizable layers (no conv, dwconv, linear or se op)")
        self.n_classes = base.n_classes
        self.resolution_key = base.resolution_key
        n = len(self.quant_layers)
        qchoices = [Choice("wbits", tuple(wbits), n, "weight bit width per quantizable layer (32: fp32)"),
                    Choice("abits", tuple(abits), n, "input-activation bit width per quantizable layer (32: fp32)"),
                    Choice("wmode", tuple(wmode), n, "weight quantization per layer: symmetric or asymmetric "
                                                     "(per output channel; no effect at 32-bit weights)")]
        family = family or f"{base.family}+q"
        super().__init__(family, [*base.choices, *qchoices],
                         f"{base.description}; + per-layer bits over {n} quantizable layers (weights "
                         f"{{4,8,32}}, activations {{8,32}}, symmetric/asymmetric)")
        self.family = family
        self.restriction = dict(base.restriction)
        for c in qchoices:
            if set(c.options) != set({"wbits": WBITS, "abits": ABITS, "wmode": WMODES}[c.key]):
                self.restriction[c.key] = c.options
        self.name = format_space_name(family, self.restriction, self.keys)
        self.nb = base.n_genes
        if self.gene_slices and any(self.gene_slices[k] != base.gene_slices[k] for k in base.gene_slices):
            raise ValueError(f"space {base.name} lays out its genes differently from its choices")
        self._build_tables()

    # ------------------------------------------------------------------ tables
    def _build_tables(self) -> None:
        """Per position and base variant (last column: slot skipped): present, MACs, params, weights, channels."""
        structure = self.base.structure("block")
        where = {layer.name: p for p, layer in enumerate(self.quant_layers)}
        shape = (len(self.quant_layers), structure.n_variants + 1)
        self._present = np.zeros(shape, dtype=bool)
        self._macs, self._params, self._weights, self._channels = (np.zeros(shape, dtype=np.int64) for _ in range(4))
        self._slot_of = np.array([layer.slot for layer in self.quant_layers], dtype=np.int64)
        for slot in structure.slots:
            for v, variant in enumerate(slot.variants):
                for name, prim in quantizable_layers(slot.name, variant.ops):
                    if name not in where:
                        raise ValueError(f"layer {name} of {self.base.name} is not a position of {self.name}")
                    p, kind = where[name], op_kind(prim)
                    self._present[p, v] = True
                    self._macs[p, v], self._params[p, v] = kind.macs(prim), kind.params(prim)
                    self._weights[p, v], self._channels[p, v] = kind.weights(prim), kind.channels(prim)
        self._fill = {c: self._choice[c].options.index(32) if 32 in self._choice[c].options else 0
                      for c in ("wbits", "abits")} | {"wmode": 0}

    def _layer_index(self, genomes: np.ndarray) -> np.ndarray:
        """``[n, P]``: the base variant each position's slot runs (-1: skipped)."""
        return self.base.variant_index(genomes[:, :self.nb])[:, self._slot_of]

    def layer_active(self, genomes: np.ndarray) -> np.ndarray:
        """``[n, P]``: whether the subnet runs each quantizable layer."""
        genomes = self.check_genomes(genomes)
        return self._present[np.arange(len(self.quant_layers))[None, :], self._layer_index(genomes)]

    def _q_active(self, genomes: np.ndarray) -> dict[str, np.ndarray]:
        layer = self.layer_active(genomes)
        return {"wbits": layer, "abits": layer, "wmode": layer & (self.values(genomes, "wbits") < 32)}

    # --------------------------------------------------------------- arch dicts
    def validate(self, arch: Mapping[str, Any]) -> Arch:
        if not isinstance(arch, Mapping):
            raise InvalidArchitecture(f"an architecture for {self.name} must be a mapping with keys "
                                      f"{', '.join(self.keys)}; got {type(arch).__name__}")
        out = dict(self.base.validate({k: v for k, v in arch.items() if k not in QUANT_KEYS}))
        n = len(self.quant_layers)
        for key in QUANT_KEYS:
            c = self._choice[key]
            if key not in arch:
                raise InvalidBits(f"missing key {key!r} for space {self.name}: a list of {n} values in "
                                  f"{{{c.allowed}}}, one per quantizable layer (space.quant_layers)")
            values = arch[key]
            if isinstance(values, np.ndarray):
                values = values.tolist()
            if not isinstance(values, (list, tuple)):
                raise InvalidBits(f"{key} must be a list of {n} values for space {self.name} (one per quantizable "
                                  f"layer, in {{{c.allowed}}}); got {values!r}")
            if len(values) != n:
                raise InvalidBits(f"{key} has {len(values)} values; space {self.name} has {n} quantizable layers "
                                  f"(one value each, in {{{c.allowed}}})")
            index = self._index[key]
            canon = []
            for i, v in enumerate(values):
                v = v.item() if isinstance(v, np.generic) else v
                if not _hashable(v) or v not in index or isinstance(v, bool) or \
                        isinstance(v, str) != isinstance(c.options[0], str):
                    raise InvalidBits(f"{key}[{i}]={v!r} ({self.quant_layers[i].name}) is not offered by space "
                                      f"{self.name}; {_WHAT[key]}: {c.allowed}")
                canon.append(c.options[index[v]])
            out[key] = canon
        return out

    def with_bits(self, arch: Mapping[str, Any], wbits: int = 32, abits: int = 32,
                  wmode: str = "symmetric") -> Arch:
        """A base arch with the same bits on every layer (e.g. ``with_bits(arch, 8, 8)``: all-INT8)."""
        n = len(self.quant_layers)
        return self.validate({**arch, "wbits": [wbits] * n, "abits": [abits] * n, "wmode": [wmode] * n})

    def encode(self, arch: Mapping[str, Any]) -> np.ndarray:
        arch = self.validate(arch)
        genome = np.empty(self.n_genes, dtype=np.int64)
        genome[:self.nb] = self.base.encode({k: v for k, v in arch.items() if k not in QUANT_KEYS})
        for key in QUANT_KEYS:
            if key in self.gene_slices:
                genome[self.gene_slices[key]] = [self._index[key][v] for v in arch[key]]
        return genome

    def decode_many(self, genomes: np.ndarray) -> list[Arch]:
        genomes = self.check_genomes(genomes)
        archs = self.base.decode_many(genomes[:, :self.nb])
        columns = {key: self.values(genomes, key).tolist() for key in QUANT_KEYS}
        for row, arch in enumerate(archs):
            for key in QUANT_KEYS:
                arch[key] = columns[key][row]
        return archs

    def values(self, genomes: np.ndarray, key: str) -> np.ndarray:
        if key in QUANT_KEYS:
            return super().values(genomes, key)
        return self.base.values(genomes[:, :self.nb], key)

    # ------------------------------------------------------------------ genomes
    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        base = self.base.sample(n, rng)
        bits = rng.integers(0, self.n_options[self.nb:], size=(n, self.n_genes - self.nb), dtype=np.int64)
        return np.concatenate([base, bits], axis=1)

    def mutate(self, genomes: np.ndarray, rng: np.random.Generator, prob: float) -> np.ndarray:
        base = self.base.mutate(genomes[:, :self.nb], rng, prob)
        bits = genomes[:, self.nb:]
        mask = rng.random(bits.shape) < prob
        fresh = rng.integers(0, self.n_options[self.nb:], size=bits.shape, dtype=np.int64)
        return np.concatenate([base, np.where(mask, fresh, bits)], axis=1)

    def crossover(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        base = self.base.crossover(a[:, :self.nb], b[:, :self.nb], rng)
        bits = np.where(rng.random(a[:, self.nb:].shape) < 0.5, a[:, self.nb:], b[:, self.nb:])
        return np.concatenate([base, bits], axis=1)

    def active_mask(self, genomes: np.ndarray) -> np.ndarray:
        genomes = self.check_genomes(genomes)
        mask = np.ones(genomes.shape, dtype=bool)
        mask[:, :self.nb] = self.base.active_mask(genomes[:, :self.nb])
        active = self._q_active(genomes)
        for key, sl in self.gene_slices.items():
            if key in QUANT_KEYS:
                mask[:, sl] = active[key]
        return mask

    def canonical(self, genomes: np.ndarray) -> np.ndarray:
        """The base's canonical genome; bits of layers not run at the fp32 option, ``wmode`` of fp32 weights
        at the first mode (the same network either way)."""
        genomes = self.check_genomes(genomes)
        out = genomes.copy()
        out[:, :self.nb] = self.base.canonical(genomes[:, :self.nb])
        active = self._q_active(genomes)
        for key in QUANT_KEYS:
            if key in self.gene_slices:
                sl = self.gene_slices[key]
                out[:, sl] = np.where(active[key], genomes[:, sl], self._fill[key])
        return out

    def arch_ids(self, genomes: np.ndarray) -> list[str]:
        """The base's id, then ``|wbits:8,4,-,...|abits:...|wmode:s,a,...`` (``-``: a layer not run / fp32 weights)."""
        genomes = self.canonical(self.check_genomes(genomes))
        ids = self.base.arch_ids(genomes[:, :self.nb])
        active = self._q_active(genomes)
        parts = []
        for key in QUANT_KEYS:
            c = self._choice[key]
            short = [format_value(o) if key != "wmode" else str(o)[0] for o in c.options]
            index = genomes[:, self.gene_slices[key]] if key in self.gene_slices else \
                np.zeros((len(genomes), c.count), dtype=np.int64)
            text = np.where(active[key], np.asarray(short, dtype=object)[index], "-")
            parts.append([f"{key}:" + ",".join(row) for row in text.tolist()])
        return ["|".join(row) for row in zip(ids, *parts)]

    # ---------------------------------------------------------------- features
    def feature_kinds(self) -> tuple[str, ...]:
        return self.base.feature_kinds()

    def feature_support(self, kind: str) -> dict[str, tuple]:
        return self.base.feature_support(kind)

    def features(self, genomes: np.ndarray, kind: str = "onehot") -> np.ndarray:
        """The base's features of ``kind``, then the bits genes (one-hot; ``ordinal``: ordinal), zeroed where
        inactive."""
        genomes = self.canonical(self.check_genomes(genomes))
        base = self.base.features(genomes[:, :self.nb], kind)
        bits, n_options = genomes[:, self.nb:], self.n_options[self.nb:]
        active = self.active_mask(genomes)[:, self.nb:]
        if kind == "ordinal":
            q = np.where(active, (bits + 1) / np.maximum(n_options, 2), 0.0).astype(np.float32)
        else:
            offsets = np.concatenate([[0], np.cumsum(n_options)[:-1]]).astype(np.int64)
            q = np.zeros((len(genomes), int(n_options.sum())), dtype=np.float32)
            rows, cols = np.nonzero(active)
            q[rows, offsets[cols] + bits[rows, cols]] = 1.0
        return np.concatenate([base.astype(np.float32), q], axis=1)

    # ---------------------------------------------------------------- counting
    def bit_counts(self, genomes: np.ndarray) -> dict[str, np.ndarray]:
        """Per genome: ``bytes`` of the model and ``bitops`` (see the module doc); int64, vectorized."""
        genomes = self.check_genomes(genomes)
        counts = self.base.count(genomes[:, :self.nb])
        index = self._layer_index(genomes)
        rows = np.arange(len(self.quant_layers))[None, :]
        on = self._present[rows, index]
        macs, params = self._macs[rows, index], self._params[rows, index]
        weights, channels = self._weights[rows, index], self._channels[rows, index]
        wb = self.values(genomes, "wbits").astype(np.int64)
        ab = self.values(genomes, "abits").astype(np.int64)
        asym = self.values(genomes, "wmode") == "asymmetric"
        quantized = wb < 32
        layer_bytes = np.where(
            quantized,
            (weights * wb + 7) // 8 + 4 * (params - weights) + channels * (SCALE_BYTES + ZERO_POINT_BYTES * asym),
            4 * params) + np.where(ab < 32, SCALE_BYTES + ZERO_POINT_BYTES, 0)
        size = 4 * counts["params"] + np.where(on, layer_bytes - 4 * params, 0).sum(axis=1)
        bitops = 1024 * counts["macs"] - np.where(on, macs * (1024 - wb * ab), 0).sum(axis=1)
        return {"bytes": size.astype(np.int64), "bitops": bitops.astype(np.int64)}

    # --------------------------------------------------------------- structure
    def slot_specs(self) -> Sequence[SlotSpec]:
        return self.base.slot_specs()

    def count(self, genomes: np.ndarray) -> dict[str, np.ndarray]:
        return self.base.count(self.check_genomes(genomes)[:, :self.nb])

    def input_shape(self, arch: Mapping[str, Any]) -> tuple[int, int, int]:
        return self.base.input_shape({k: v for k, v in self.validate(arch).items() if k not in QUANT_KEYS})

    def layers(self, arch: Mapping[str, Any], fusion: str = "block") -> list[Op]:
        """The base's op list with ``wbits``, ``abits`` and ``wmode`` set on every quantizable primitive."""
        arch = self.validate(arch)
        structure = self.base.structure("block")
        index = self.base.variant_index(self.encode(arch)[None, :self.nb])[0]
        position = {layer.name: p for p, layer in enumerate(self.quant_layers)}

        def bits(name: str, prim: Op) -> Op:
            p = position[name]
            wb, ab, mode = int(arch["wbits"][p]), int(arch["abits"][p]), str(arch["wmode"][p])
            return replace(prim, wbits=wb, abits=ab, wmode=mode if wb < 32 else "",
                           precision=run_precision(wb, ab, mode))

        block = [op for slot, v in zip(structure.slots, index) if v >= 0
                 for op in map_quantizable(slot.name, slot.variants[v].ops, bits)]
        if fusion == "block":
            return block
        self.base.structure(fusion)  # checks the fusion mode
        return [p for op in block for p in op.layer_ops()]

    def extremes(self) -> tuple[Arch, Arch]:
        """The base's (largest, smallest), at the most bits (fp32) and at the fewest (symmetric)."""
        largest, smallest = self.base.extremes()
        n = len(self.quant_layers)
        w, a, m = (self._choice[k].options for k in QUANT_KEYS)
        return ({**largest, "wbits": [max(w)] * n, "abits": [max(a)] * n, "wmode": [m[0]] * n},
                {**smallest, "wbits": [min(w)] * n, "abits": [min(a)] * n, "wmode": [m[0]] * n})

    @property
    def size(self) -> int:
        """Distinct (network, bits) pairs: exact when bits are fixed or the base genomes can be enumerated
        (up to 65536); otherwise an upper bound (as if every subnet ran every quantizable layer)."""
        w, a, m = (self._choice[k].options for k in QUANT_KEYS)
        per_layer = (sum(b < 32 for b in w) * len(m) + (32 in w)) * len(a)
        if per_layer == 1:
            return self.base.size
        if int(np.prod(self.base.n_options, dtype=object)) <= 65536:
            grids = [range(int(k)) for k in self.base.n_options]
            base = np.array(list(itertools.product(*grids)), dtype=np.int64).reshape(-1, self.nb)
            keys = self.base.keys_of(base)
            _, first = np.unique(keys, return_index=True)
            full = np.zeros((len(first), self.n_genes), dtype=np.int64)
            full[:, :self.nb] = base[first]
            n_active = self.layer_active(full).sum(axis=1)
            return sum(per_layer ** int(k) for k in n_active.tolist())
        return self.base.size * per_layer ** len(self.quant_layers)

    # -------------------------------------------------------------- restriction
    def restrict(self, **options: Sequence) -> "QuantizedSpace":
        unknown = [k for k in options if k not in self._choice]
        if unknown:
            raise InvalidBits(f"unknown key {unknown[0]!r} for space {self.name}; expected: {', '.join(self.keys)}")
        base_options = {k: v for k, v in options.items() if k not in QUANT_KEYS}
        base = self.base.restrict(**base_options) if base_options else self.base
        kept = {}
        for key in QUANT_KEYS:
            c = self._choice[key]
            if key not in options:
                kept[key] = c.options
                continue
            keep = list(options[key]) if isinstance(options[key], (list, tuple)) else [options[key]]
            bad = [v for v in keep if not _hashable(v) or v not in self._index[key] or isinstance(v, bool)]
            if bad or not keep:
                raise InvalidBits(f"cannot restrict {key} to {keep}: {_WHAT[key]} offered by {self.name}: {c.allowed}")
            kept[key] = tuple(o for o in c.options if o in keep)
        return QuantizedSpace(base, kept["wbits"], kept["abits"], kept["wmode"], family=self.family,
                              positions=self.quant_layers)

    def __repr__(self) -> str:
        return f"QuantizedSpace({self.name!r}, {self.describe_genome()})"


def bit_counts(space: SearchSpace, genomes: np.ndarray) -> dict[str, np.ndarray]:
    """Model ``bytes`` and ``bitops`` per genome: a quantized space's own; any other structured space at fp32
    (4 bytes per param, 32 x 32 bit operations per MAC)."""
    if isinstance(space, QuantizedSpace):
        return space.bit_counts(genomes)
    counts = space.count(genomes)
    return {"bytes": 4 * counts["params"].astype(np.int64), "bitops": 1024 * counts["macs"].astype(np.int64)}


def _structured_spaces() -> list[str]:
    out = []
    for name in list_spaces():
        try:
            if isinstance(get_space(name), Structured):
                out.append(name)
        except NasError:
            continue
    return out


@register_overlay("q")
def quantization_overlay(base: SearchSpace) -> QuantizedSpace:
    """Per-layer weight bits {4, 8, 32}, activation bits {8, 32} and symmetric/asymmetric weights (e.g.
    S+q[wbits=8] is all-INT8 weights, S+q[r=160,abits=8] restricts the base too)."""
    return QuantizedSpace(base)
