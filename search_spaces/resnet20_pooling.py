"""ResNet20 pooling placement (the Balanced Mixture of SuperNets' CIFAR-10 space).

A 3x3 stem conv (16 channels) and nine basic blocks whose widths follow the layer index (16,16,16 |
32,32,32 | 64,64,64), all stride 1; two 2x2 max-pool layers sit before any two of the nine blocks
(C(9,2) = 36 placements), so where the network downsamples decides where its compute goes. A block
whose width changes has a 1x1 conv + BN shortcut; the head is global average pooling and a linear
layer. The arch is written as in the paper: ``{"pool": [b1, b2, b3]}``, the number of layers (stem
conv included, summing to 10) at 32x32, 16x16 and 8x8; the default ResNet20 is ``[4, 3, 3]``. BMS's
config numbers (1..36, in ``itertools.combinations`` order of the pool positions) and 10-bit codes
(1 = a max-pool before that layer, position 0 = the stem) are read and written too.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ._registry import register_space
from ._space import Arch, Choice, SearchSpace
from .errors import InvalidArchitecture, InvalidInput
from .formats import ForeignArchFormat
from .ops import Op
from .structure import SlotSpec, Structured

__all__ = ["Placement", "PoolingResNet20Space", "resnet20_pooling", "PLACEMENTS", "placement_of_code",
           "code_of", "placement_of_config", "config_of"]

N_LAYERS = 10  # the stem conv and nine blocks
N_POOLS = 2
WIDTHS = (16, 16, 16, 16, 32, 32, 32, 64, 64, 64)  # per layer, the stem's first
IMAGE = 32


class Placement(tuple):
    """Layers per resolution, e.g. ``(4, 3, 3)``; written ``4-3-3`` in space names and arch ids."""

    def __str__(self) -> str:
        return "-".join(str(v) for v in self)

    @property
    def pool_positions(self) -> tuple[int, ...]:
        """The layers (0 = stem) that a max-pool precedes."""
        return tuple(int(v) for v in np.cumsum(self)[:-1])


def _placements() -> tuple[Placement, ...]:
    # BMS numbers the configurations in itertools.combinations order of the two pool positions
    out = []
    for positions in itertools.combinations(range(1, N_LAYERS), N_POOLS):
        edges = (0, *positions, N_LAYERS)
        out.append(Placement(b - a for a, b in zip(edges, edges[1:])))
    return tuple(out)


PLACEMENTS = _placements()
DEFAULT = Placement((4, 3, 3))  # ResNet20 as He et al. built it (config 24)
_RULE = f"three layer counts >= 1 summing to {N_LAYERS} (the stem conv included), e.g. [4, 3, 3]"


def placement_of_config(number: Any) -> Placement:
    if isinstance(number, bool) or not isinstance(number, (int, np.integer)) or not 1 <= number <= len(PLACEMENTS):
        raise InvalidArchitecture(f"pooling config {number!r} does not exist; allowed: 1..{len(PLACEMENTS)}")
    return PLACEMENTS[int(number) - 1]


def config_of(placement: Sequence[int]) -> int:
    return PLACEMENTS.index(Placement(placement)) + 1


def placement_of_code(code: Any) -> Placement:
    """A 10-bit code (``"0,1,1,0,0,0,0,0,0,0"`` or a list of 0/1) as layers per resolution."""
    bits = code.replace(" ", "").split(",") if isinstance(code, str) else code
    if not isinstance(bits, (list, tuple)) or len(bits) != N_LAYERS:
        raise InvalidArchitecture(f"a pooling code has {N_LAYERS} comma-separated bits (position 0 = the stem); "
                                  f"got {code!r}")
    try:
        values = [int(b) for b in bits]
    except (TypeError, ValueError):
        raise InvalidArchitecture(f"a pooling code holds only 0 and 1; got {code!r}") from None
    positions = [i for i, b in enumerate(values) if b == 1]
    if any(b not in (0, 1) for b in values) or len(positions) != N_POOLS or values[0] != 0:
        raise InvalidArchitecture(f"a pooling code holds exactly {N_POOLS} ones at positions 1..{N_LAYERS - 1} "
                                  f"(none before the stem); got {code!r}")
    edges = (0, *positions, N_LAYERS)
    return Placement(b - a for a, b in zip(edges, edges[1:]))


def code_of(placement: Sequence[int]) -> str:
    bits = ["0"] * N_LAYERS
    for position in Placement(placement).pool_positions:
        bits[position] = "1"
    return ",".join(bits)


def _placement(value: Any) -> Placement:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or len(value) != 3 or \
            not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        raise InvalidArchitecture(f"pool={value!r}: expected {_RULE}")
    placement = Placement(int(v) for v in value)
    if min(placement) < 1 or sum(placement) != N_LAYERS:
        raise InvalidArchitecture(f"pool={list(placement)} is not a placement: expected {_RULE}")
    return placement


class PoolingResNet20Space(Structured, ForeignArchFormat, SearchSpace):
    """Where the two max-pool layers of a ResNet20 go; ``n_classes`` outputs (CIFAR-10: 10)."""

    foreign_format = "bms.json"

    def __init__(self, name: str, n_classes: int = 10, description: str = ""):
        self.n_classes = n_classes
        choices = [Choice("pool", PLACEMENTS, 1, "layers at 32x32 / 16x16 / 8x8 (stem conv included; sum 10)")]
        super().__init__(name, choices, description)

    # ------------------------------------------------------------------ arch dicts
    def validate(self, arch: Mapping[str, Any]) -> Arch:
        """``{"pool": [b1, b2, b3]}``; ``{"config": n}`` (BMS's numbering) and ``{"code": "0,1,..."}`` too."""
        if not isinstance(arch, Mapping):
            raise InvalidArchitecture(f"an architecture for {self.name} must be a mapping such as "
                                      f'{{"pool": [4, 3, 3]}}; got {type(arch).__name__}')
        given = [k for k in ("pool", "config", "code") if k in arch]
        unknown = [k for k in arch if k not in ("pool", "config", "code")]
        if unknown or len(given) != 1:
            what = f"unknown key {unknown[0]!r}" if unknown else ("missing key 'pool'" if not given else
                                                                f"both {given[0]!r} and {given[1]!r}")
            raise InvalidArchitecture(f"{what} for space {self.name}; give one of pool ([b1, b2, b3]), config "
                                      f"(1..{len(PLACEMENTS)}) or code (10 bits)")
        key = given[0]
        placement = (_placement(arch[key]) if key == "pool" else
                     placement_of_config(arch[key]) if key == "config" else placement_of_code(arch[key]))
        if placement not in self._index["pool"]:
            allowed = self.choice("pool").allowed
            raise InvalidArchitecture(f"pool={list(placement)} is not in space {self.name}; allowed: {allowed}")
        return {"pool": list(placement)}

    def encode(self, arch: Mapping[str, Any]) -> np.ndarray:
        placement = Placement(self.validate(arch)["pool"])
        return np.array([self._index["pool"][placement]] if self.n_genes else [], dtype=np.int64)

    def decode_many(self, genomes: np.ndarray) -> list[Arch]:
        genomes = self.check_genomes(genomes)
        options = self.choice("pool").options
        picks = genomes[:, 0] if self.n_genes else np.zeros(len(genomes), dtype=np.int64)
        return [{"pool": list(options[i])} for i in picks.tolist()]

    def placements(self, genomes: np.ndarray) -> np.ndarray:
        """``[n, 3]`` layers per resolution."""
        options = np.asarray([list(p) for p in self.choice("pool").options], dtype=np.int64)
        genomes = self.check_genomes(genomes)
        return options[genomes[:, 0] if self.n_genes else np.zeros(len(genomes), dtype=np.int64)]

    def values(self, genomes: np.ndarray, key: str) -> np.ndarray:
        if key != "pool":
            return super().values(genomes, key)
        out = np.empty((len(genomes), 1), dtype=object)
        out[:, 0] = [Placement(p) for p in self.placements(genomes).tolist()]
        return out

    def extremes(self) -> tuple[Arch, Arch]:
        """Most MACs: both pools as late as possible ([8, 1, 1]); fewest: as early as possible ([1, 1, 8])."""
        options = self.choice("pool").options
        macs = self.count(np.arange(len(options))[:, None] if self.n_genes else np.zeros((1, 0), np.int64))["macs"]
        return {"pool": list(options[int(np.argmax(macs))])}, {"pool": list(options[int(np.argmin(macs))])}

    # ------------------------------------------------------------------ BMS's files
    def is_foreign_arch(self, obj: Any) -> bool:
        return isinstance(obj, dict) and obj.get("format") == "bms-resnet20-pooling"

    def arch_from_foreign(self, obj: Mapping[str, Any], path: Path, resolution: int | None = None) -> dict:
        if resolution is not None:
            raise InvalidInput(f"--resolution: space {self.name} has a fixed {IMAGE}x{IMAGE} input")
        if "code" not in obj:
            raise InvalidInput(f"{path}: a BMS pooling description needs its 10-bit 'code'")
        return self.validate({"code": obj["code"]})

    def arch_to_foreign(self, arch: Mapping[str, Any]) -> dict:
        placement = self.validate(arch)["pool"]
        return {"format": "bms-resnet20-pooling", "number": config_of(placement), "code": code_of(placement),
                "block1": placement[0], "block2": placement[1], "block3": placement[2]}

    # ------------------------------------------------------------------ structure
    def input_shape(self, arch: Mapping[str, Any]) -> tuple[int, int, int]:
        self.validate(arch)
        return 3, IMAGE, IMAGE

    def slot_specs(self) -> list[SlotSpec]:
        slots = [SlotSpec("stem", (), lambda: (Op("conv", (IMAGE, IMAGE, 3), (IMAGE, IMAGE, WIDTHS[0]), 3, 1,
                                                   act="relu", bn=True, fused="conv+bn+act", name="stem"),))]
        for layer in range(1, N_LAYERS):
            slots.append(SlotSpec(f"layer{layer}", (("pool", 0),), lambda p, i=layer: self._layer(i, p)))
        c, s = WIDTHS[-1], IMAGE >> N_POOLS
        slots.append(SlotSpec("pool", (), lambda: (Op("pool", (s, s, c), (1, 1, c), fused="mean", name="pool"),)))
        slots.append(SlotSpec("classifier", (), lambda: (
            Op("linear", (1, 1, c), (1, 1, self.n_classes), fused="linear+bias", name="classifier"),)))
        return slots

    @staticmethod
    def _layer(layer: int, placement: Placement) -> tuple[Op, ...]:
        """Block ``layer`` (1..9), preceded by its max-pool when the placement puts one there."""
        positions = placement.pool_positions
        size = IMAGE >> sum(p <= layer for p in positions)
        cin, cout = WIDTHS[layer - 1], WIDTHS[layer]
        ops: list[Op] = []
        name = f"layer{layer}"
        if layer in positions:
            ops.append(Op("maxpool", (2 * size, 2 * size, cin), (size, size, cin), 2, 2, fused="maxpool", name=name))
        i, o = (size, size, cin), (size, size, cout)
        parts = (Op("conv", i, o, 3, 1, act="relu", bn=True, fused="conv+bn+act", name="conv1"),
                 Op("conv", o, o, 3, 1, bn=True, fused="conv+bn", name="conv2"))
        shortcut = (Op("conv", i, o, 1, 1, bn=True, fused="conv+bn", name="shortcut"),) if cin != cout else ()
        ops.append(Op("basicblock", i, o, 3, 1, cout, 0, "relu", True, True, "block", name=name, parts=parts,
                      shortcut=shortcut, post_act="relu"))
        return tuple(ops)


@register_space("resnet20-pooling")
def resnet20_pooling() -> PoolingResNet20Space:
    return PoolingResNet20Space("resnet20-pooling", 10, description="ResNet20 for 32x32 images with two max-pool "
                                "layers placed before any two of its nine blocks (36 placements; BMS, CIFAR-10)")
