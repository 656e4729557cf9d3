"""Constrained evolution: once-for-all's evolution finder, with ViT-ResNAS's settings as a preset.

Each generation keeps the best ``parents`` subnets seen so far (feasible first, then by Pareto rank,
then by the first objective) and breeds mutants and uniform crossovers from them. Constraints that
are cheap to check are enforced by rejection when children are drawn, as in once-for-all.
"""

from __future__ import annotations

import base64

import numpy as np
from moocore import pareto_rank

from search_spaces.errors import InvalidInput

from .._searcher import NoFeasibleSubnet, Searcher, register_searcher, sample_feasible
from ..archive import Archive, Keys
from ..options import flag, integer, number
from ..pareto import pareto_ranks
from ._pymoo import fresh_samples


def rank_order(F: np.ndarray, G: np.ndarray) -> np.ndarray:
    """Indices from best to worst: total violation, then Pareto rank, then the first objective."""
    violation = np.clip(G, 0, None).sum(axis=1) if G.size else np.zeros(len(F))
    if len(F) and F.shape[1] > 1:  # pareto_ranks' ranks, straight from moocore (without its fronts' lists)
        ranks = pareto_rank(np.asarray(F, dtype=np.float64)).astype(np.int64)
    else:
        ranks = pareto_ranks(F) if len(F) else np.empty(0, dtype=np.int64)
    return np.lexsort((F[:, 0], ranks, violation))


@register_searcher("evolution")
class EvolutionSearcher(Searcher):
    # once-for-all: population 100, parent ratio 0.25, mutation ratio 0.5, mutation probability 0.1
    defaults = {"population": 100, "parent_ratio": 0.25, "mutation_ratio": 0.5, "mutation_prob": 0.1,
                "initial_population": None, "novel_only": False}
    presets = {
        "once-for-all": {},
        # ViT-ResNAS (after HAT): 500 random subnets, then 75 parents -> 75 mutants (p=0.3) + 75 crossovers,
        # children never repeat an evaluated subnet
        "vit-resnas": {"population": 225, "parent_ratio": 1 / 3, "mutation_ratio": 1 / 3, "mutation_prob": 0.3,
                       "initial_population": 500, "novel_only": True},
    }
    option_specs = {"population": integer(2, individuals=True), "parent_ratio": number(0, 1, low_open=True),
                    "mutation_ratio": number(0, 1), "mutation_prob": number(0, 1),
                    "initial_population": integer(1, optional=True, individuals=True), "novel_only": flag()}

    def __init__(self, space, **kwargs):
        super().__init__(space, **kwargs)
        self.parents = np.empty((0, space.n_genes), dtype=np.int64)
        self.parents_F = np.empty((0, self.n_objectives))
        self.parents_G = np.empty((0, 0))
        self._parent_keys: Keys | None = None  # the parents' archive keys (not saved: recomputed after a resume)

    def _check_options(self) -> None:
        o = self.options
        self.n_parents = max(1, int(round(o["population"] * o["parent_ratio"])))
        self.n_mutations = int(round(o["population"] * o["mutation_ratio"]))
        self.n_crossovers = max(0, o["population"] - self.n_parents - self.n_mutations)
        if self.n_mutations + self.n_crossovers == 0:  # every generation would ask for nothing
            raise InvalidInput(f"evolution breeds no children with population {o['population']}, parent_ratio "
                               f"{o['parent_ratio']:g} and mutation_ratio {o['mutation_ratio']:g}; "
                               f"lower parent_ratio or raise mutation_ratio")

    def _novel(self, genomes: np.ndarray) -> np.ndarray:
        if self.options["novel_only"] and self.archive is not None:
            return genomes[self.archive.new_mask(genomes)]
        return genomes

    def ask(self) -> np.ndarray:
        if len(self.parents) == 0:
            n = self.options["initial_population"] or self.options["population"]
            return sample_feasible(self.space, int(n), self.rng, self.is_feasible,
                                   lambda k: self._novel(self.space.sample(k, self.rng)))
        p = self.parents

        def mutants(k: int) -> np.ndarray:
            picks = p[self.rng.integers(len(p), size=k)]
            return self._novel(self.space.mutate(picks, self.rng, self.options["mutation_prob"]))

        def crossovers(k: int) -> np.ndarray:
            a, b = p[self.rng.integers(len(p), size=k)], p[self.rng.integers(len(p), size=k)]
            return self._novel(self.space.crossover(a, b, self.rng))

        children = [self._draw(self.n_mutations, mutants)]
        if self.n_crossovers:
            children.append(self._draw(self.n_crossovers, crossovers))
        children = np.concatenate(children)
        short = self.n_mutations + self.n_crossovers - len(children)
        if self.options["novel_only"] and short > 0:  # converged parents breed few new children: add immigrants
            children = np.concatenate([children, fresh_samples(self.space, short, self.rng, self.archive,
                                                               self.is_feasible, exclude=children)])
        return children

    def _draw(self, n: int, propose) -> np.ndarray:
        if not self.options["novel_only"]:
            return sample_feasible(self.space, n, self.rng, self.is_feasible, propose)
        # novel children are drawn by rejection even without constraints, up to a point
        check = self.is_feasible or (lambda g: np.ones(len(g), dtype=bool))
        try:
            return sample_feasible(self.space, n, self.rng, check, propose, max_rounds=20)
        except NoFeasibleSubnet:
            return np.empty((0, self.space.n_genes), dtype=np.int64)

    def tell(self, genomes: np.ndarray, F: np.ndarray, G: np.ndarray) -> None:
        if len(genomes) == 0:
            self.generation += 1
            return
        G = G.reshape(len(genomes), -1)
        keys = self._keys(genomes)
        if len(self.parents):
            genomes = np.concatenate([self.parents, genomes])
            F = np.concatenate([self.parents_F, F])
            G = np.concatenate([self.parents_G.reshape(len(self.parents), -1), G])
            if keys is not None:
                keys = Keys.concat([self._parent_keys if self._parent_keys is not None else self._keys(self.parents),
                                    keys])
        # parents are the best *distinct* subnets seen so far (children may repeat a parent)
        if keys is not None:  # by the archive's hashes of canonical genomes
            first = np.flatnonzero(Archive.first_index(keys) == np.arange(len(keys)))
        else:
            _, first = np.unique(self.space.keys_of(genomes), return_index=True)
            first.sort()
        genomes, F, G = genomes[first], F[first], G[first]
        keep = rank_order(F, G)[: self.n_parents]
        self.parents, self.parents_F, self.parents_G = genomes[keep], F[keep], G[keep]
        self._parent_keys = keys.take(first[keep]) if keys is not None else None
        self.generation += 1

    def _keys(self, genomes: np.ndarray) -> Keys | None:
        return self.archive.keys(genomes) if self.archive is not None else None

    def _extra_state(self) -> dict:
        # packed (the bytes, base64): a state is saved every generation, and 2,500 parents' genes as JSON lists
        # cost 70 ms a save; states written before as lists still load
        return {"parents": _pack(self.parents.astype(_genes_dtype(self.space), copy=False)),
                "parents_F": _pack(self.parents_F), "parents_G": _pack(self.parents_G)}

    def _load_extra_state(self, state: dict) -> None:
        parents = _unpack(state["parents"], np.int64)
        n = len(parents)
        self.parents = parents.reshape(n, self.space.n_genes)
        self.parents_F = _unpack(state["parents_F"], np.float64).reshape(n, self.n_objectives)
        G = _unpack(state["parents_G"], np.float64)
        self.parents_G = G.reshape(n, -1) if n else np.empty((0, 0))
        self._parent_keys = None


def _genes_dtype(space):
    return np.int8 if int(space.n_options.max(initial=1)) <= np.iinfo(np.int8).max else np.int64


def _pack(array: np.ndarray) -> dict:
    """An array as JSON: dtype, shape and its bytes (little-endian) in base64; exact for floats."""
    a = np.ascontiguousarray(array)
    a = a.astype(a.dtype.newbyteorder("<"), copy=False)
    return {"dtype": a.dtype.str, "shape": list(a.shape), "base64": base64.b64encode(a.tobytes()).decode("ascii")}


def _unpack(value, dtype) -> np.ndarray:
    """``_pack``'s array (or a nested list, as states were saved before) as ``dtype``."""
    if isinstance(value, dict):
        raw = np.frombuffer(base64.b64decode(value["base64"]), dtype=np.dtype(value["dtype"]))
        return raw.reshape(value["shape"]).astype(dtype)
    return np.asarray(value, dtype=dtype)
