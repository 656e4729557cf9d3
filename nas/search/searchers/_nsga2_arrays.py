"""pymoo's NSGA-II on plain arrays: the same steps, without a Python object per individual.

pymoo's ``NSGA2`` spends a large population's time in ``Population.get/set`` and ``Individual``
bookkeeping (10,000 individuals: about 1.5 s a generation, ten times the evaluation). This driver
keeps the population as arrays (genomes, F, constraint violation, rank, crowding) and runs pymoo's
generation step by step:

* **mating** (``Mating`` / ``InfillCriterion.do``): up to ``mating_rounds`` rounds, each selecting
  ``ceil(remaining / 2)`` parent pairs by pymoo's NSGA-II binary tournament (``comp_by_dom_and_crowding``:
  the smaller constraint violation when either is infeasible, else Pareto dominance, else the larger
  crowding distance, random on ties; pairs from concatenated random permutations as
  ``TournamentSelection``), crossing them by SBX (``sbx``: pymoo's ``cross_sbx`` computed on the
  crossed genes only; applied per mating with
  probability ``crossover_prob``, SBX's own per-variable probability 0.5, exchange 0.5; first
  children then second children, as ``Crossover.do`` flattens them), ``RoundingRepair``, mutating
  by polynomial mutation (``polynomial_mutation``: pymoo's ``mut_pm`` on the mutated genes only;
  per-gene probability ``mutation_prob`` or ``1 / n_genes``), rounding again,
  then dropping children that repeat one of the batch, the population, the offspring so far or (with
  ``novel_only``) an archived subnet, or fail the cheap constraints; the round's children are cut to
  what is still missing;
* **survival** (``RankAndCrowding`` behind ``Survival.do``): feasible individuals first, ranked by
  pymoo's ``NonDominatedSorting`` (moocore's ``pareto_rank``), the splitting front cut by pymoo's
  crowding distance (``crowding_distances``: every front in one pass) with pymoo's
  ``randomized_argsort``; infeasible ones fill the rest by ascending
  violation; rank and crowding are kept for the next tournament.

Random numbers come from a generator seeded as pymoo's (``default_rng(seed)``), drawn in pymoo's
order and amounts (tournament ties as ``random_state.choice``, SBX's and the mutation's unused draws
included), and the operators are bit for bit pymoo's: on the same seed this driver asks exactly the
subnets pymoo's ``NSGA2`` asks through ``PymooAskTell`` (``tests/nas/search/test_nsga2_arrays.py``
checks it on toy problems with and without constraints; ``benchmarks/search_speed.py --fronts``
compares the fronts' hypervolumes on ofa-mbv3 and NAS-Bench-201).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from pymoo.operators.survival.rank_and_crowding.metrics import get_crowding_function
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
from pymoo.util.randomized_argsort import randomized_argsort

from search_spaces import SearchSpace

from .._searcher import sample_feasible
from ..archive import Keys

__all__ = ["ArrayNSGA2", "rank_and_crowding_survival", "binary_tournament", "sbx", "polynomial_mutation"]

#: SBX's per-variable crossover and exchange probabilities (pymoo's ``SBX`` defaults, which our pymoo path keeps)
SBX_PROB_VAR = 0.5
SBX_PROB_BIN = 0.5


def sbx(X: np.ndarray, xl: np.ndarray, xu: np.ndarray, eta: float, rng: np.random.Generator,
        prob_var: float = SBX_PROB_VAR, prob_bin: float = SBX_PROB_BIN, eps: float = 1.0e-14) -> np.ndarray:
    """pymoo's ``cross_sbx`` (one eta and probability for every mating), computed on the crossed genes only.

    ``X`` is ``[2, n_matings, n_var]``. The same random draws in the same order and the same float
    operations as pymoo's function, so the children are bit for bit pymoo's (a test checks it); pymoo's
    boolean-mask indexing of whole ``[n_matings, n_var]`` matrices made it the slowest step of a generation."""
    _, n_matings, n_var = X.shape
    X0, X1 = X[0].reshape(-1), X[1].reshape(-1)
    cross = rng.random((n_matings, n_var)) < prob_var
    cross &= ~(np.abs(X[0] - X[1]) <= eps)  # equal parents: nothing to cross
    cross[:, xl == xu] = False
    idx = np.flatnonzero(cross)
    genes = idx % n_var if n_var else idx
    p1, p2 = X0[idx], X1[idx]
    sm = p1 < p2
    y1, y2 = np.where(sm, p1, p2), np.where(sm, p2, p1)
    lo, hi = xl[genes], xu[genes]
    k = len(idx)
    etas = np.full(k, float(eta))  # an array, as pymoo's, so numpy runs the same power loops
    rand = rng.random(k)

    def betaq_of(beta: np.ndarray) -> np.ndarray:
        alpha = 2.0 - np.power(beta, -(etas + 1.0))
        with np.errstate(invalid="ignore"):
            near = np.power(rand * alpha, 1.0 / (etas + 1.0))
            far = np.power(1.0 / (2.0 - rand * alpha), 1.0 / (etas + 1.0))
        return np.where(rand <= 1.0 / alpha, near, far)

    delta = y2 - y1
    c1 = 0.5 * ((y1 + y2) - betaq_of(1.0 + (2.0 * (y1 - lo) / delta)) * delta)
    c2 = 0.5 * ((y1 + y2) + betaq_of(1.0 + (2.0 * (hi - y2) / delta)) * delta)
    child1, child2 = np.where(sm, c1, c2), np.where(sm, c2, c1)
    swap = np.bitwise_xor(rng.random(k) < prob_bin, p1 > p2)
    child1, child2 = np.where(swap, child2, child1), np.where(swap, child1, child2)
    Q = X.copy()
    Q0, Q1 = Q[0].reshape(-1), Q[1].reshape(-1)  # views
    for flat, child in ((Q0, child1), (Q1, child2)):  # repair_clamp (only crossed genes can leave the bounds)
        child = np.where(child < lo, lo, child)
        flat[idx] = np.where(child > hi, hi, child)
    return Q


def polynomial_mutation(X: np.ndarray, xl: np.ndarray, xu: np.ndarray, eta: float, prob_var: float,
                        rng: np.random.Generator) -> np.ndarray:
    """pymoo's ``mut_pm`` (``at_least_once=False``, one eta and probability for every row), computed on the
    mutated genes only: the same draws and float operations, bit for bit pymoo's result."""
    n, n_var = X.shape
    mut = rng.random((n, n_var)) < np.full(n, float(prob_var))[:, None]
    mut[:, xl == xu] = False
    idx = np.flatnonzero(mut)
    genes = idx % n_var if n_var else idx
    Xp = np.array(X, dtype=float)
    x = Xp.reshape(-1)[idx]
    lo, hi = xl[genes], xu[genes]
    etas = np.full(len(idx), float(eta))
    delta1, delta2 = (x - lo) / (hi - lo), (hi - x) / (hi - lo)
    mut_pow = 1.0 / (etas + 1.0)
    rand = rng.random(x.shape)
    with np.errstate(invalid="ignore"):
        val = 2.0 * rand + (1.0 - 2.0 * rand) * np.power(1.0 - delta1, etas + 1.0)
        down = np.power(val, mut_pow) - 1.0
        val = 2.0 * (1.0 - rand) + 2.0 * (rand - 0.5) * np.power(1.0 - delta2, etas + 1.0)
        up = 1.0 - np.power(val, mut_pow)
    y = x + np.where(rand <= 0.5, down, up) * (hi - lo)
    y = np.where(y < lo, lo, y)
    Xp.reshape(-1)[idx] = np.where(y > hi, hi, y)
    return Xp


def violation(G: np.ndarray) -> np.ndarray:
    """pymoo's constraint violation: the sum of the positive parts of G (0 without constraints)."""
    return np.maximum(G, 0.0).sum(axis=1) if G.size else np.zeros(len(G))


def binary_tournament(P: np.ndarray, F: np.ndarray, CV: np.ndarray, crowding: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """pymoo's NSGA-II ``binary_tournament`` (``comp_by_dom_and_crowding``) on arrays: the winner of
    each row ``(a, b)`` of ``P``."""
    a, b = P[:, 0], P[:, 1]
    winner = np.full(len(P), -1, dtype=np.int64)
    cva, cvb = CV[a], CV[b]
    infeasible = (cva > 0) | (cvb > 0)
    winner[infeasible & (cva < cvb)] = a[infeasible & (cva < cvb)]
    winner[infeasible & (cvb < cva)] = b[infeasible & (cvb < cva)]
    feasible = ~infeasible
    Fa, Fb = F[a], F[b]
    a_less, b_less = np.any(Fa < Fb, axis=1), np.any(Fb < Fa, axis=1)
    a_dom = feasible & a_less & ~b_less
    b_dom = feasible & b_less & ~a_less
    winner[a_dom] = a[a_dom]
    winner[b_dom] = b[b_dom]
    open_ = feasible & ~a_dom & ~b_dom  # neither dominates: the larger crowding distance
    cda, cdb = crowding[a], crowding[b]
    a_far, b_far = open_ & (cda > cdb), open_ & (cda < cdb)
    winner[a_far] = a[a_far]
    winner[b_far] = b[b_far]
    tie = np.flatnonzero(winner < 0)  # equal violations, or equal crowding: a coin flip (pymoo's random choice)
    if tie.size:
        coin = rng.integers(0, 2, size=tie.size).astype(bool)
        winner[tie] = np.where(coin, b[tie], a[tie])
    return winner


_NDS = NonDominatedSorting()
_CROWDING = get_crowding_function("cd")  # pymoo's NSGA-II crowding: the reference crowding_distances matches


def crowding_distances(F: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """pymoo's NSGA-II crowding distance (``calc_crowding_distance`` behind ``get_crowding_function("cd")``)
    of every front at once: ``F`` holds the fronts one after another, ``sizes`` their lengths.

    The same sorts (stable, per objective), differences, normalization and sums as pymoo's per-front
    function, so the distances are bit for bit pymoo's (a test checks it); one call per generation
    instead of one per front (about 40 fronts a generation at population 10,000)."""
    F = np.asarray(F, dtype=np.double)
    n, n_obj = F.shape
    cd = np.full(n, np.inf)  # fronts of one or two points: every point is a boundary
    if n == 0:
        return cd
    fid = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    ends = starts + sizes - 1
    big = np.repeat(sizes > 2, sizes)
    total = np.empty((n, n_obj))
    for j in range(n_obj):
        order = np.lexsort((F[:, j], fid))  # per front, by objective j; ties keep their order (mergesort's)
        Fs = F[order, j]
        norm = (Fs[ends] - Fs[starts])[fid]
        norm[norm == 0] = np.nan
        gap = np.diff(Fs)
        to_last = np.empty(n)
        to_last[0] = np.inf
        to_last[1:] = gap
        to_last[starts] = np.inf
        to_next = np.empty(n)
        to_next[-1] = np.inf
        to_next[:-1] = gap
        to_next[ends] = np.inf
        to_last, to_next = to_last / norm, to_next / norm
        to_last[np.isnan(to_last)] = 0.0
        to_next[np.isnan(to_next)] = 0.0
        total[order, j] = to_last + to_next
    cd[big] = np.sum(total[big], axis=1) / n_obj
    return cd


def rank_and_crowding_survival(F: np.ndarray, CV: np.ndarray, n_survive: int, has_constraints: bool,
                               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pymoo's ``RankAndCrowding`` survival (behind ``Survival.do``) on arrays.

    Returns the survivors' indices in pymoo's order (front by front; infeasible ones last, by
    ascending violation) and every individual's rank and crowding distance (NaN where pymoo leaves
    them unset: individuals past the last sorted front and infeasible ones)."""
    n = len(F)
    rank = np.full(n, np.nan)
    crowding = np.full(n, np.nan)
    if n == 0:
        return np.empty(0, dtype=np.int64), rank, crowding
    n_survive = min(n_survive, n)
    if has_constraints:
        feasible = np.flatnonzero(CV <= 0)
        infeasible = np.flatnonzero(CV > 0)
        infeasible = infeasible[np.argsort(CV[infeasible])]
    else:
        feasible, infeasible = np.arange(n), np.empty(0, dtype=np.int64)
    survivors: list[np.ndarray] = []
    n_kept = 0
    if len(feasible):
        want = min(len(feasible), n_survive)
        Ff = F[feasible].astype(float, copy=False)
        fronts = _NDS.do(Ff, n_stop_if_ranked=want)
        sizes = np.array([len(f) for f in fronts], dtype=np.int64)
        members = np.concatenate(fronts)
        cd_all = crowding_distances(Ff[members], sizes)
        rank[feasible[members]] = np.repeat(np.arange(len(fronts)), sizes)
        crowding[feasible[members]] = cd_all
        at = 0
        for front, size in zip(fronts, sizes):
            cd = cd_all[at: at + size]
            at += size
            if n_kept + size > want:  # the splitting front: the most crowded go, ties at random
                n_remove = n_kept + size - want
                order = randomized_argsort(cd, order="descending", method="numpy", random_state=rng)[:-n_remove]
                survivors.append(feasible[front[order]])
                n_kept += len(order)
            else:
                survivors.append(feasible[front])
                n_kept += size
    if n_survive > n_kept:
        survivors.append(infeasible[: n_survive - n_kept])
    return (np.concatenate(survivors).astype(np.int64) if survivors else np.empty(0, dtype=np.int64)), rank, crowding


def _members(keys: Keys, known: Keys) -> np.ndarray:
    """Which genomes behind ``keys`` are among those behind ``known`` (by hash, confirmed gene for gene)."""
    order = np.argsort(known.h)
    sorted_h = known.h[order]
    pos = np.minimum(np.searchsorted(sorted_h, keys.h), len(sorted_h) - 1)
    hit = sorted_h[pos] == keys.h
    if hit.any():
        at = np.flatnonzero(hit)
        same = np.all(known.canon[order[pos[at]]] == keys.canon[at], axis=1)
        if not same.all():  # equal hashes of different genomes (about 1 in 2**64): compare whole genomes
            row = np.dtype((np.void, keys.canon.itemsize * keys.canon.shape[1]))
            hit = np.isin(np.ascontiguousarray(keys.canon).view(row).ravel(),
                          np.ascontiguousarray(known.canon).view(row).ravel())
        else:
            hit[at] = same
    return hit


class ArrayNSGA2:
    """NSGA-II's ask/tell on arrays, driven like ``PymooAskTell`` (an asked batch is kept until told)."""

    def __init__(self, space: SearchSpace, n_obj: int, n_constr: int, options: dict, rng: np.random.Generator,
                 archive: Callable[[], object], is_feasible,
                 immigrants: Callable[[int, np.ndarray], np.ndarray] | None):
        self.space, self.n_obj, self.n_constr, self.rng = space, n_obj, n_constr, rng
        self.archive, self.is_feasible, self.immigrants = archive, is_feasible, immigrants
        self.pop_size = int(options["population"])
        self.n_offsprings = int(options.get("offspring") or options["population"])
        self.rounds = int(options.get("mating_rounds") or 10)
        self.crossover_prob = float(options["crossover_prob"])
        self.crossover_eta = float(options["crossover_eta"])
        self.mutation_eta = float(options["mutation_eta"])
        prob_var = options.get("mutation_prob")
        self.mutation_prob_var = float(prob_var) if prob_var is not None else min(0.5, 1 / max(1, space.n_genes))
        self.xl = np.zeros(space.n_genes)
        self.xu = (space.n_options - 1).astype(float)
        g = space.n_genes
        self.X = np.empty((0, g), dtype=np.int64)  # the population, in pymoo's survival order
        self.F = np.empty((0, n_obj))
        self.CV = np.empty(0)
        self.rank = np.empty(0)
        self.crowding = np.empty(0)
        self.initialized = False
        self._told = False
        self.asked_keys: Keys | None = None  # keys of the last asked batch, when the novelty check computed them

    # ------------------------------------------------------------- novelty
    def _fresh(self, X: np.ndarray, earlier) -> tuple[np.ndarray, object]:
        """Mask of rows of ``X`` that repeat neither an earlier row of ``X``, nor the offspring so far
        (``earlier``), nor the population, nor (with ``novel_only``) an archived subnet, and pass the cheap
        constraints (``NoveltyFilter`` against the batch, the population and the offspring); and the kept
        rows' keys, to be passed back as ``earlier`` with the next round's children."""
        archive = self.archive()
        if archive is not None:  # the population is archived: the archive's hash index covers it
            keys = archive.keys(X)
            fresh = archive.new_mask_of(keys)
            if earlier is not None and len(earlier) and fresh.any():
                at = np.flatnonzero(fresh)
                fresh[at[_members(keys.take(at), earlier)]] = False
        else:
            keys = self.space.keys_of(X)
            known = [k for k in (self.space.keys_of(self.X) if len(self.X) else None, earlier)
                     if k is not None and len(k)]
            both = np.concatenate([*known, keys]) if known else keys
            _, first = np.unique(both, return_index=True)
            first = first[first >= len(both) - len(X)] - (len(both) - len(X))
            fresh = np.zeros(len(X), dtype=bool)
            fresh[first] = True
        if self.is_feasible is not None and fresh.any():
            fresh[fresh] = self.is_feasible(X[fresh])
        return fresh, keys

    # ------------------------------------------------------------- ask
    def ask(self) -> np.ndarray:
        self.asked_keys = None
        if not self.initialized:
            X = self._initial(self.pop_size)
        else:
            X = self._mate(self.n_offsprings)
        wanted = self.n_offsprings if self._told else self.pop_size
        if self.immigrants is not None and len(X) < wanted:
            extra = self.immigrants(wanted - len(X), X)
            if len(extra):
                X = np.concatenate([X, extra])
                self.asked_keys = None
        return X

    def _initial(self, n: int) -> np.ndarray:
        """pymoo's initialization: new, feasible uniform genomes (``FeasibleSampling``, then the filter)."""
        def propose(k: int) -> np.ndarray:
            X = self.space.sample(k, self.rng)
            archive = self.archive()
            if archive is not None:
                return X[archive.new_mask(X)]
            _, first = np.unique(self.space.keys_of(X), return_index=True)
            return X[np.sort(first)]

        X = np.asarray(sample_feasible(self.space, n, self.rng, self.is_feasible, propose), dtype=np.int64)
        return X[self._fresh(X, None)[0]] if len(X) else X

    def _mate(self, n_offsprings: int) -> np.ndarray:
        parts: list[np.ndarray] = []
        known = None  # the offspring's keys so far
        n_off = 0
        if len(self.X) == 0:
            return np.empty((0, self.space.n_genes), dtype=np.int64)
        for _ in range(self.rounds):
            remaining = n_offsprings - n_off
            children = self._children(math.ceil(remaining / 2))
            fresh, keys = self._fresh(children, known)
            kept = np.flatnonzero(fresh)[:remaining]
            parts.append(children[kept])
            kept_keys = keys.take(kept) if isinstance(keys, Keys) else keys[kept]
            known = kept_keys if known is None else (
                Keys.concat([known, kept_keys]) if isinstance(keys, Keys) else np.concatenate([known, kept_keys]))
            n_off += len(kept)
            if n_off >= n_offsprings:
                break
        archive = self.archive()
        if isinstance(known, Keys) and archive is not None:  # checked new just now: the loop need not again
            self.asked_keys = archive.vouch_new(known)
        return np.concatenate(parts) if parts else np.empty((0, self.space.n_genes), dtype=np.int64)

    def _children(self, n_matings: int) -> np.ndarray:
        """One round of selection, SBX and polynomial mutation, rounded (``RoundingRepair``) after each."""
        rng, n = self.rng, len(self.X)
        n_random = n_matings * 2 * 2  # matings x parents x tournament pressure
        P = np.concatenate([rng.permutation(n) for _ in range(math.ceil(n_random / n))])[:n_random]
        winners = binary_tournament(P.reshape(n_matings * 2, 2), self.F, self.CV, self.crowding, rng)
        X = self._Xf[winners.reshape(n_matings, 2).T]  # [2 parents, matings, genes], as floats
        # Crossover.do: each mating crosses with probability crossover_prob, else both parents are copied
        cross = rng.random(n_matings) < self.crossover_prob
        if np.any(cross):
            rng.random((n_matings, 1))  # SBX._do's exchange draw (prob_exch 1.0: never disables the exchange)
            Xp = sbx(X, self.xl, self.xu, self.crossover_eta, rng)
            if not cross.all():
                Xp[:, ~cross] = X[:, ~cross]
        else:
            Xp = X
        Xc = np.around(Xp.reshape(-1, self.space.n_genes))  # RoundingRepair
        # Mutation.do with PM(prob=1.0): every child is mutated, each gene with probability prob_var
        m = len(Xc)
        Xm = polynomial_mutation(Xc, self.xl, self.xu, self.mutation_eta, self.mutation_prob_var, rng)
        rng.random(size=m)  # Mutation.do's per-individual draw (prob 1.0: every child is mutated)
        return np.around(Xm).astype(np.int64)  # RoundingRepair

    # ------------------------------------------------------------- tell
    def tell(self, genomes: np.ndarray, F: np.ndarray, G: np.ndarray) -> None:
        if len(genomes) == 0:
            return
        genomes = np.asarray(genomes, dtype=np.int64)
        F = np.asarray(F, dtype=np.float64).reshape(len(genomes), self.n_obj)
        CV = violation(np.asarray(G, dtype=np.float64).reshape(len(genomes), -1))
        if self.initialized:  # merge with the population (GeneticAlgorithm._advance)
            genomes = np.concatenate([self.X, genomes])
            F = np.concatenate([self.F, F])
            CV = np.concatenate([self.CV, CV])
            n_survive = self.pop_size
        else:  # NSGA-II advances after the initial infill: every individual survives, ranked
            n_survive = len(genomes)
        keep, rank, crowding = rank_and_crowding_survival(F, CV, n_survive, self.n_constr > 0, self.rng)
        self.X, self.F, self.CV = genomes[keep], F[keep], CV[keep]
        self._Xf = self.X.astype(float)  # what crossover reads
        self.rank, self.crowding = rank[keep], crowding[keep]
        self.initialized = True
        self._told = True

    @property
    def population(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X.copy(), self.F.copy()
