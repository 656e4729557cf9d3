"""pymoo behind the ask/tell contract: the integer genome problem, operators, sampling and novelty filter.

pymoo's documented integer recipe: integer random sampling, SBX and polynomial mutation on floats
followed by ``RoundingRepair``, and duplicate elimination. Our duplicate elimination is vectorized
(genome keys instead of pymoo's O(n^2) distance matrix) and also rejects children that repeat an
archived subnet or fail cheap constraints, so every asked child is new and feasible. When mating
finds too few new children within ``mating_rounds`` tries (a converged population in a small space),
the batch is topped up with uniform unseen subnets (immigrants) instead of shrinking: pymoo's
default 100 tries per generation cost ~0.1 s and then deliver one child.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from pymoo.core.duplicate import DuplicateElimination
from pymoo.core.evaluator import Evaluator as PymooEvaluator
from pymoo.core.population import Population
from pymoo.core.problem import Problem
from pymoo.core.sampling import Sampling
from pymoo.core.termination import NoTermination
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.repair.rounding import RoundingRepair
from pymoo.problems.static import StaticProblem

from search_spaces import SearchSpace
from search_spaces.errors import InvalidInput, NotSupported

from .._searcher import NoFeasibleSubnet, sample_feasible

__all__ = ["ALGORITHMS", "GenomeProblem", "make_algorithm", "PymooAskTell", "fresh_samples"]

#: spaces with at most this many genomes draw immigrants from an enumeration of the unseen ones
ENUMERATE_LIMIT = 100_000

ALGORITHMS = ("nsga2", "age-moea", "unsga3")


class GenomeProblem(Problem):
    """Genes are option indices ``0..n_options-1``; objectives and constraints come from outside."""

    def __init__(self, space: SearchSpace, n_obj: int, n_constr: int):
        super().__init__(n_var=space.n_genes, n_obj=n_obj, n_ieq_constr=n_constr, xl=np.zeros(space.n_genes),
                         xu=(space.n_options - 1).astype(float), vtype=int)


class NoveltyFilter(DuplicateElimination):
    """Marks as duplicates: repeats within the batch or of ``other``, archived subnets and infeasible ones."""

    def __init__(self, space: SearchSpace, archive: Callable[[], object], is_feasible):
        super().__init__()
        self.space, self.archive, self.is_feasible = space, archive, is_feasible

    def _do(self, pop, other, is_duplicate):
        X = np.rint(pop.get("X")).astype(np.int64)
        if other is not None:
            known = set(self.space.keys_of(np.rint(other.get("X")).astype(np.int64)).tolist())
            keys = self.space.keys_of(X).tolist()
            return is_duplicate | np.fromiter((k in known for k in keys), dtype=bool, count=len(keys))
        archive = self.archive()
        fresh = archive.new_mask(X) if archive is not None else _first_occurrence(self.space, X)
        if self.is_feasible is not None and fresh.any():
            fresh[fresh] = self.is_feasible(X[fresh])
        return is_duplicate | ~fresh


def _first_occurrence(space: SearchSpace, X: np.ndarray) -> np.ndarray:
    mask = np.zeros(len(X), dtype=bool)
    mask[np.unique(space.keys_of(X), return_index=True)[1]] = True
    return mask


def fresh_samples(space: SearchSpace, n: int, rng: np.random.Generator, archive, is_feasible,
                  exclude: np.ndarray | None = None) -> np.ndarray:
    """Up to ``n`` uniform genomes, none archived or in ``exclude``, all passing ``is_feasible``
    (fewer, possibly none, when the space is nearly exhausted)."""
    excluded = set(space.keys_of(exclude).tolist()) if exclude is not None and len(exclude) else set()

    def unseen(X: np.ndarray) -> np.ndarray:
        X = X[archive.new_mask(X)] if archive is not None else X[_first_occurrence(space, X)]
        if excluded and len(X):
            X = X[np.fromiter((k not in excluded for k in space.keys_of(X).tolist()), dtype=bool, count=len(X))]
        return X

    if int(np.prod(space.n_options.astype(float))) <= ENUMERATE_LIMIT:
        every = unseen(np.ascontiguousarray(np.indices(tuple(space.n_options)).reshape(space.n_genes, -1).T,
                                            dtype=np.int64))
        if is_feasible is not None and len(every):
            every = every[is_feasible(every)]
        return every[rng.choice(len(every), size=min(n, len(every)), replace=False)]
    try:
        return sample_feasible(space, n, rng, is_feasible, lambda k: unseen(space.sample(k, rng)), max_rounds=20)
    except NoFeasibleSubnet:
        return np.empty((0, space.n_genes), dtype=np.int64)


class FeasibleSampling(Sampling):
    """Uniform genomes that are new and pass the cheap constraints (rejection, as once-for-all)."""

    def __init__(self, space: SearchSpace, archive: Callable[[], object], is_feasible):
        super().__init__()
        self.space, self.archive, self.is_feasible = space, archive, is_feasible

    def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
        def propose(k: int) -> np.ndarray:
            X = self.space.sample(k, random_state)
            archive = self.archive()
            return X[archive.new_mask(X)] if archive is not None else X[_first_occurrence(self.space, X)]

        X = sample_feasible(self.space, n_samples, random_state, self.is_feasible, propose)
        return X.astype(float)


def make_algorithm(name: str, space: SearchSpace, n_obj: int, options: dict, seed: int,
                   archive: Callable[[], object], is_feasible):
    """A configured pymoo algorithm (nsga2, age-moea or unsga3) for integer genomes."""
    if name not in ALGORITHMS:
        raise InvalidInput(f"unknown pymoo algorithm {name!r}; known: {', '.join(ALGORITHMS)}")
    common = dict(
        pop_size=int(options["population"]),
        n_offsprings=int(options.get("offspring") or options["population"]),
        sampling=FeasibleSampling(space, archive, is_feasible),
        crossover=SBX(prob=float(options["crossover_prob"]), eta=float(options["crossover_eta"]), vtype=float,
                      repair=RoundingRepair()),
        mutation=PM(prob=1.0, prob_var=options.get("mutation_prob"), eta=float(options["mutation_eta"]),
                    vtype=float, repair=RoundingRepair()),
        eliminate_duplicates=NoveltyFilter(space, archive, is_feasible),
        seed=seed,
    )
    rounds = int(options.get("mating_rounds") or 10)
    if name == "nsga2":
        from pymoo.algorithms.moo.nsga2 import NSGA2

        return _with_rounds(NSGA2(**common), rounds)
    if name == "age-moea":
        try:
            from pymoo.algorithms.moo.age import AGEMOEA
        except Exception:  # pymoo raises a bare Exception when numba is missing
            raise NotSupported("pymoo's AGE-MOEA needs numba: pip install numba (or nas-engine[age])") from None
        return _with_rounds(AGEMOEA(**common), rounds)
    from pymoo.algorithms.moo.unsga3 import UNSGA3
    from pymoo.util.ref_dirs import get_reference_directions

    if n_obj == 1:
        ref_dirs = np.array([[1.0]])
    else:  # as DyNAS-T: Riesz-energy directions, one per population member
        ref_dirs = get_reference_directions("energy", n_obj, int(options["population"]), seed=seed)
    return _with_rounds(UNSGA3(ref_dirs=ref_dirs, **common), rounds)


def _with_rounds(algorithm, rounds: int):
    algorithm.mating.n_max_iterations = rounds  # tries to find new children before giving up
    return algorithm


class PymooAskTell:
    """One pymoo algorithm driven by ask/tell; an asked population is kept until it is told."""

    def __init__(self, algorithm, space: SearchSpace, n_obj: int, n_constr: int,
                 immigrants: Callable[[int, np.ndarray], np.ndarray] | None = None):
        self.algorithm = algorithm
        self.space = space
        self.problem = GenomeProblem(space, n_obj, n_constr)
        self.algorithm.setup(self.problem, termination=NoTermination())
        self.pending: Population | None = None
        self.immigrants = immigrants
        self._told = False

    def ask(self) -> np.ndarray:
        pop = self.algorithm.ask()
        X = np.rint(pop.get("X")).astype(np.int64) if pop is not None and len(pop) else \
            np.empty((0, self.space.n_genes), dtype=np.int64)
        wanted = self.algorithm.n_offsprings if self._told else self.algorithm.pop_size
        if self.immigrants is not None and len(X) < wanted:
            extra = self.immigrants(wanted - len(X), X)
            if len(extra):
                X = np.concatenate([X, extra])
                newcomers = Population.new(X=extra.astype(float))
                pop = Population.merge(pop, newcomers) if pop is not None and len(pop) else newcomers
        self.pending = pop if len(X) else None  # None: no new subnet left to ask (an exhausted space)
        return X

    def tell(self, genomes: np.ndarray, F: np.ndarray, G: np.ndarray) -> None:
        """Tell the told subset of the pending population (all of it unless the budget ran out)."""
        if self.pending is None or len(genomes) == 0:
            self.pending = None
            return
        asked = np.rint(self.pending.get("X")).astype(np.int64)
        position = {k: i for i, k in enumerate(self.space.keys_of(asked).tolist())}
        idx = np.array([position[k] for k in self.space.keys_of(genomes).tolist()], dtype=np.int64)
        pop = self.pending[idx]
        pop.set("X", asked[idx].astype(float))
        constrained = self.problem.n_ieq_constr
        static = StaticProblem(self.problem, F=F, G=G) if constrained else StaticProblem(self.problem, F=F)
        PymooEvaluator().eval(static, pop)
        self.algorithm.tell(infills=pop)
        self.pending = None
        self._told = True

    @property
    def population(self) -> tuple[np.ndarray, np.ndarray]:
        """The algorithm's current population: genomes and F."""
        pop = self.algorithm.pop
        if pop is None or len(pop) == 0:
            return np.empty((0, self.space.n_genes), dtype=np.int64), np.empty((0, self.problem.n_obj))
        return np.rint(pop.get("X")).astype(np.int64), pop.get("F")
