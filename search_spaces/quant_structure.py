"""The latency structure of ``S+q``: the base's slots, each variant once per set of its quantizable layers
that run int8, so an int8 layer has its own op key and latency-table entry (see ``quantization``)."""

from __future__ import annotations

import numpy as np

from .ops import Op, check_fusion
from .quant_layers import QUANT_KEYS, map_quantizable, run_precision, with_fields
from .structure import Slot, Structure, Variant

__all__ = ["Int8Variants"]


class Int8Variants:
    """Mixin of ``QuantizedSpace``: ``structure``, ``variant_index`` and ``int8_layers`` over its bits (it
    provides ``base``, ``nb``, ``quant_layers``, ``values``, ``layer_active`` and ``check_genomes``)."""

    def structure(self, fusion: str = "block") -> Structure:
        """The base's slots, each variant once per set of its quantizable layers that run int8 (the module doc)."""
        check_fusion(fusion)
        cache = self.__dict__.setdefault("_bits_structures", {})
        if fusion not in cache:
            block = cache.get("block") or self._bits_structure()
            cache["block"] = block
            if fusion != "block":
                cache[fusion] = Structure(fusion, [
                    Slot(s.name, s.deps, tuple(Variant(tuple(p for op in v.ops for p in op.layer_ops()), v.values,
                                                       v.resolution) for v in s.variants)) for s in block.slots])
        return cache[fusion]

    def _int8_possible(self) -> bool:
        return any(run_precision(w, a, m) for w in self._choice["wbits"].options
                   for a in self._choice["abits"].options for m in self._choice["wmode"].options)

    def _slot_positions(self) -> list[list[int]]:
        """Per base slot, its quantizable positions (bit j of a slot's int8 mask is its j-th)."""
        out: list[list[int]] = [[] for _ in self.base.structure("block").slots]
        if self._int8_possible():
            for p, layer in enumerate(self.quant_layers):
                out[layer.slot].append(p)
        return out

    def _bits_structure(self) -> Structure:
        base = self.base.structure("block")
        positions = self._slot_positions()
        int8_values = (("wbits", 8), ("abits", 8), ("wmode", "symmetric"))  # what covering restrictions remove
        slots = []
        for s, slot in enumerate(base.slots):
            mine = positions[s]
            if not mine:
                slots.append(slot)
                continue
            variants = []
            for variant in slot.variants:
                as_int8: dict[str, Op] = {}  # each primitive's int8 form, made once per base variant
                for mask in range(2 ** len(mine)):
                    int8 = {self.quant_layers[p].name for j, p in enumerate(mine) if mask >> j & 1}

                    def mark(name: str, prim: Op, int8=int8, as_int8=as_int8) -> Op:
                        if name not in int8:
                            return prim
                        if name not in as_int8:
                            as_int8[name] = with_fields(prim, precision="int8")
                        return as_int8[name]

                    ops = map_quantizable(slot.name, variant.ops, mark) if mask else variant.ops
                    values = variant.values + (int8_values if any(op.precision for op in ops) else ())
                    variants.append(Variant(ops, values, variant.resolution))
            slots.append(Slot(slot.name, slot.deps, tuple(variants)))
        return Structure("block", slots)

    def int8_layers(self, genomes: np.ndarray) -> np.ndarray:
        """``[n, P]``: whether each quantizable layer runs on int8 kernels (run, and ``run_precision`` of its bits
        is int8, vectorized)."""
        genomes = self.check_genomes(genomes)
        w, a, m = (self.values(genomes, k) for k in QUANT_KEYS)
        return self.layer_active(genomes) & (w == 8) & (a == 8) & (m == "symmetric")

    def slot_active(self, genomes: np.ndarray) -> np.ndarray:
        return self.base.slot_active(self.check_genomes(genomes)[:, :self.nb])

    def variant_index(self, genomes: np.ndarray) -> np.ndarray:
        """The base's variant in each slot, then which of the slot's layers run int8 (a bit each)."""
        genomes = self.check_genomes(genomes)
        index = self.base.variant_index(genomes[:, :self.nb])
        cache = self.__dict__.setdefault("_bits_structures", {})
        if "weights" not in cache:  # [P, n_slots]: 2**j in the column of the slot where position p is j-th
            positions = self._slot_positions()
            weights = np.zeros((len(self.quant_layers), len(positions)), dtype=np.int64)
            for s, mine in enumerate(positions):
                for j, p in enumerate(mine):
                    weights[p, s] = 2 ** j
            cache["weights"] = weights, np.array([2 ** len(mine) for mine in positions], dtype=np.int64)
        weights, masks = cache["weights"]
        if not weights.any():
            return index
        mask = self.int8_layers(genomes).astype(np.int64) @ weights
        return np.where(index >= 0, index * masks[None, :] + mask, -1)
