"""SearchSpace, Choice and Arch: what can be searched, and the genome view searchers work on.

An *arch* is a plain JSON-able dict that reads like the field's formats (for OFA spaces:
``{"ks": [...20], "e": [...20], "d": [...5], "r": 224}``). A *genome* is the searchers' view: an
int vector with one option index per varying position. Every batch operation works on int arrays
of shape ``[n, n_genes]`` with numpy, never with per-arch Python objects.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .errors import InvalidArchitecture, NotSupported
from .names import family_of, format_space_name, format_value

__all__ = ["Arch", "Choice", "SearchSpace"]

Arch = dict[str, Any]


@dataclass(frozen=True)
class Choice:
    """One searchable dimension: ``count`` positions that each take one of ``options``.

    In an arch dict a choice with ``count == 1`` is a scalar, otherwise a list of ``count`` values.
    A choice with a single option is fixed: it appears in the arch but takes no genes.
    """

    key: str
    options: tuple
    count: int = 1
    doc: str = ""

    def __post_init__(self):
        object.__setattr__(self, "options", tuple(self.options))
        if not self.options:
            raise ValueError(f"choice {self.key!r} has no options")
        if len(set(self.options)) != len(self.options):
            raise ValueError(f"choice {self.key!r} has repeated options {self.options}")
        if self.count < 1:
            raise ValueError(f"choice {self.key!r} needs count >= 1")

    @property
    def varies(self) -> bool:
        return len(self.options) > 1

    @property
    def allowed(self) -> str:
        return ", ".join(format_value(o) for o in self.options)


class SearchSpace:
    """A set of architectures, their genome encoding and vectorized batch operations.

    Subclasses add structure (which genes are inactive for a given genome, feature encodings,
    params/MACs counting) by overriding the hooks below; the encoding itself is generic.
    """

    def __init__(self, name: str, choices: Sequence[Choice], description: str = ""):
        keys = [c.key for c in choices]
        if len(set(keys)) != len(keys):
            raise ValueError(f"space {name!r} repeats a choice key: {keys}")
        self.name = name
        self.family = family_of(name)  # the registered space this one is (a restriction of)
        self.restriction: dict[str, tuple] = {}  # choice key -> options kept, for restricted keys
        self.description = description
        self.choices: tuple[Choice, ...] = tuple(choices)
        self._build_layout()

    # ------------------------------------------------------------------ layout
    def _build_layout(self) -> None:
        self._choice = {c.key: c for c in self.choices}
        self._index = {c.key: {v: i for i, v in enumerate(c.options)} for c in self.choices}
        self._options = {c.key: np.asarray(c.options) for c in self.choices}
        self.gene_slices: dict[str, slice] = {}
        n_options: list[int] = []
        names: list[str] = []
        keys: list[str] = []
        for c in self.choices:
            if not c.varies:
                continue
            start = len(n_options)
            self.gene_slices[c.key] = slice(start, start + c.count)
            n_options += [len(c.options)] * c.count
            names += [c.key] if c.count == 1 else [f"{c.key}[{i}]" for i in range(c.count)]
            keys += [c.key] * c.count
        self.n_options = np.asarray(n_options, dtype=np.int64)
        self.gene_names: tuple[str, ...] = tuple(names)
        self.gene_keys: tuple[str, ...] = tuple(keys)  # the choice each gene belongs to

    @property
    def n_genes(self) -> int:
        return int(self.n_options.size)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.choices)

    def choice(self, key: str) -> Choice:
        return self._choice[key]

    def layout_signature(self) -> dict:
        """A JSON-able description that files made for this space record and check against."""
        return {
            "space": self.name,
            "choices": [{"key": c.key, "options": [list(o) if isinstance(o, tuple) else o for o in c.options],
                         "count": c.count} for c in self.choices],
        }

    def describe_genome(self) -> str:
        parts = [f"{c.key}x{c.count}" for c in self.choices if c.varies]
        return f"{self.n_genes} genes ({', '.join(parts)})"

    # --------------------------------------------------------------- arch dicts
    def validate(self, arch: Mapping[str, Any]) -> Arch:
        """Return a normalized copy of ``arch`` or raise ``InvalidArchitecture`` naming the problem."""
        if not isinstance(arch, Mapping):
            raise InvalidArchitecture(
                f"an architecture for {self.name} must be a mapping with keys {', '.join(self.keys)}; "
                f"got {type(arch).__name__}"
            )
        unknown = [k for k in arch if k not in self._choice]
        if unknown:
            raise InvalidArchitecture(
                f"unknown key {unknown[0]!r} for space {self.name}; expected keys: {', '.join(self.keys)}"
            )
        out: Arch = {}
        for c in self.choices:
            if c.key not in arch:
                raise InvalidArchitecture(f"missing key {c.key!r} for space {self.name} (allowed values: {c.allowed})")
            value = arch[c.key]
            values = self._as_list(c, value)
            index = self._index[c.key]
            for i, v in enumerate(values):
                if not _hashable(v) or v not in index or isinstance(v, bool) != isinstance(c.options[0], bool):
                    where = c.key if c.count == 1 else f"{c.key}[{i}]"
                    raise InvalidArchitecture(
                        f"{where}={v!r} is not allowed in space {self.name}; allowed values: {c.allowed}"
                    )
            canon = [c.options[index[v]] for v in values]
            out[c.key] = canon[0] if c.count == 1 else canon
        return out

    def _as_list(self, c: Choice, value: Any) -> list:
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if c.count == 1:
            # once-for-all's tutorial and DyNAS-T write the resolution as a one-element list
            if isinstance(value, (list, tuple)):
                if len(value) != 1:
                    raise InvalidArchitecture(
                        f"{c.key} has {len(value)} values; space {self.name} expects one value ({c.allowed})"
                    )
                value = value[0]
            return [value.item() if isinstance(value, np.generic) else value]
        if not isinstance(value, (list, tuple)):
            raise InvalidArchitecture(
                f"{c.key} must be a list of {c.count} values for space {self.name}; got {value!r}"
            )
        if len(value) != c.count:
            raise InvalidArchitecture(
                f"{c.key} has {len(value)} values; space {self.name} expects {c.count} (allowed values: {c.allowed})"
            )
        return [v.item() if isinstance(v, np.generic) else v for v in value]

    def encode(self, arch: Mapping[str, Any]) -> np.ndarray:
        """Arch dict -> genome (1-D int array)."""
        arch = self.validate(arch)
        genome = np.empty(self.n_genes, dtype=np.int64)
        for key, sl in self.gene_slices.items():
            index = self._index[key]
            values = arch[key] if self._choice[key].count > 1 else [arch[key]]
            genome[sl] = [index[v] for v in values]
        return genome

    def encode_many(self, archs: Iterable[Mapping[str, Any]]) -> np.ndarray:
        rows = [self.encode(a) for a in archs]
        return np.stack(rows) if rows else np.empty((0, self.n_genes), dtype=np.int64)

    def decode(self, genome: Sequence[int] | np.ndarray) -> Arch:
        """Genome (1-D) -> arch dict."""
        return self.decode_many(np.asarray(genome)[None, :])[0]

    def decode_many(self, genomes: np.ndarray) -> list[Arch]:
        genomes = self.check_genomes(genomes)
        columns: dict[str, list] = {}
        for c in self.choices:
            if c.key in self.gene_slices:
                columns[c.key] = self._options[c.key][genomes[:, self.gene_slices[c.key]]].tolist()
            else:
                columns[c.key] = [[c.options[0]] * c.count] * len(genomes)
        archs = []
        for row in range(len(genomes)):
            arch = {}
            for c in self.choices:
                vals = columns[c.key][row]
                arch[c.key] = vals[0] if c.count == 1 else list(vals)
            archs.append(arch)
        return archs

    def values(self, genomes: np.ndarray, key: str) -> np.ndarray:
        """Option values of one choice for a batch of genomes: shape ``[n, count]``."""
        c = self._choice[key]
        if key in self.gene_slices:
            return self._options[key][genomes[:, self.gene_slices[key]]]
        return np.full((len(genomes), c.count), c.options[0])

    # ------------------------------------------------------------------ genomes
    def check_genomes(self, genomes: Any) -> np.ndarray:
        """Validate a batch of genomes and return it as a 2-D int64 array."""
        arr = np.asarray(genomes)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.n_genes:
            raise InvalidArchitecture(
                f"genomes of shape {tuple(np.shape(genomes))} do not fit space {self.name}: "
                f"expected [n, {self.n_genes}] = {self.describe_genome()}"
            )
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                raise InvalidArchitecture(f"genomes for space {self.name} must hold integer option indices")
            arr = arr.astype(np.int64)
        elif arr.dtype.kind not in "iu":
            raise InvalidArchitecture(f"genomes for space {self.name} must be integers, got dtype {arr.dtype}")
        else:
            arr = arr.astype(np.int64, copy=False)
        bad = (arr < 0) | (arr >= self.n_options)
        if bad.any():
            row, gene = map(int, np.argwhere(bad)[0])
            raise InvalidArchitecture(
                f"gene {self.gene_names[gene]}={arr[row, gene]} (row {row}) is out of range for space "
                f"{self.name}; allowed indices 0..{self.n_options[gene] - 1}"
            )
        return arr

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` uniformly random genomes."""
        return rng.integers(0, self.n_options, size=(n, self.n_genes), dtype=np.int64)

    def mutate(self, genomes: np.ndarray, rng: np.random.Generator, prob: float) -> np.ndarray:
        """Resample each gene with probability ``prob`` (once-for-all's mutation)."""
        mask = rng.random(genomes.shape) < prob
        return np.where(mask, self.sample(len(genomes), rng), genomes)

    def crossover(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Uniform crossover: each gene from ``a`` or ``b`` with equal probability."""
        return np.where(rng.random(a.shape) < 0.5, a, b)

    def active_mask(self, genomes: np.ndarray) -> np.ndarray:
        """Which genes change the network (e.g. blocks past a stage's depth do not)."""
        return np.ones(genomes.shape, dtype=bool)

    def canonical(self, genomes: np.ndarray) -> np.ndarray:
        """Genomes with inactive genes zeroed, so equivalent networks compare equal."""
        return np.where(self.active_mask(genomes), genomes, 0)

    def canonical_arch(self, arch: Mapping[str, Any]) -> Arch:
        """The arch written canonically (inactive positions at their first option: the same network)."""
        return self.decode(self.canonical(self.encode(arch)[None, :])[0])

    def keys_of(self, genomes: np.ndarray) -> np.ndarray:
        """A hashable key per genome (bytes of the canonical genome) for fast de-duplication."""
        if self.n_genes == 0:  # a space of one network: one key
            return np.zeros(len(genomes), dtype="V1")
        canon = np.ascontiguousarray(self.canonical(genomes), dtype=np.int8 if self.n_options.max() < 128 else np.int64)
        return canon.view(np.dtype((np.void, canon.dtype.itemsize * canon.shape[1]))).ravel()

    # --------------------------------------------------------------------- ids
    def arch_id(self, arch: Mapping[str, Any]) -> str:
        return self.arch_ids(self.encode(arch)[None, :])[0]

    def arch_ids(self, genomes: np.ndarray) -> list[str]:
        """Canonical string ids: ``key:v,v,...|key:v``; inactive positions show as ``-``."""
        genomes = self.canonical(self.check_genomes(genomes))
        active = self.active_mask(genomes)
        parts_per_choice = []
        for c in self.choices:
            if c.key in self.gene_slices:
                sl = self.gene_slices[c.key]
                text = np.asarray([format_value(o) for o in c.options], dtype=object)[genomes[:, sl]]
                text = np.where(active[:, sl], text, "-")
                parts_per_choice.append([f"{c.key}:" + ",".join(row) for row in text.tolist()])
            else:
                fixed = f"{c.key}:" + ",".join([format_value(c.options[0])] * c.count)
                parts_per_choice.append([fixed] * len(genomes))
        return ["|".join(parts) for parts in zip(*parts_per_choice)]

    # ---------------------------------------------------------------- features
    def feature_kinds(self) -> tuple[str, ...]:
        return ("onehot", "ordinal")

    def feature_support(self, kind: str) -> dict[str, tuple]:
        """The options an encoding is defined on, where it is not defined on all (a restriction)."""
        return {}

    def features(self, genomes: np.ndarray, kind: str = "onehot") -> np.ndarray:
        """Float features for predictors (of the canonical genome); inactive genes are zeroed."""
        genomes = self.canonical(self.check_genomes(genomes))
        active = self.active_mask(genomes)
        if kind == "onehot":
            offsets = np.concatenate([[0], np.cumsum(self.n_options)[:-1]])
            out = np.zeros((len(genomes), int(self.n_options.sum())), dtype=np.float32)
            rows, cols = np.nonzero(active)
            out[rows, offsets[cols] + genomes[rows, cols]] = 1.0
            return out
        if kind == "ordinal":
            scale = np.maximum(self.n_options - 1, 1)
            return np.where(active, (genomes + 1) / (scale + 1), 0.0).astype(np.float32)
        raise NotSupported(
            f"unknown feature encoding {kind!r} for space {self.name}; known: {', '.join(self.feature_kinds())}"
        )

    # -------------------------------------------------------------- structure
    @property
    def size(self) -> int:
        """Number of distinct architectures (subclasses discount equivalent genomes)."""
        return int(np.prod([len(c.options) ** c.count for c in self.choices], dtype=object))

    def restrict(self, **options: Sequence) -> "SearchSpace":
        """A copy whose choices keep only the given options, e.g. ``restrict(r=[224])``; named canonically
        (``family[key=v/v,...]``, keys in choice order), so restrictions of restrictions compose."""
        unknown = [k for k in options if k not in self._choice]
        if unknown:
            raise InvalidArchitecture(
                f"unknown key {unknown[0]!r} for space {self.name}; expected: {', '.join(self.keys)}"
            )
        new_choices, restriction = [], dict(self.restriction)
        for c in self.choices:
            if c.key in options:
                keep = list(options[c.key]) if isinstance(options[c.key], (list, tuple)) else [options[c.key]]
                bad = [v for v in keep if not _hashable(v) or v not in self._index[c.key]]
                if bad or not keep:
                    raise InvalidArchitecture(
                        f"cannot restrict {c.key} to {keep}: allowed values in space {self.name}: {c.allowed}"
                    )
                kept = tuple(o for o in c.options if o in keep)
                new_choices.append(Choice(c.key, kept, c.count, c.doc))
                restriction[c.key] = kept
            else:
                new_choices.append(c)
        clone = copy.copy(self)
        for cached in [k for k in clone.__dict__ if k.startswith("_cached_")]:
            del clone.__dict__[cached]
        clone.choices = tuple(new_choices)
        clone.restriction = restriction
        clone.name = format_space_name(self.family, restriction, self.keys)
        clone._build_layout()
        clone._on_restrict()
        return clone

    def intersect(self, other: "SearchSpace", what: str = "the other source") -> "SearchSpace":
        """The subnets both spaces hold (same family): per choice, the options both keep."""
        if other.family != self.family:
            raise InvalidArchitecture(f"{what} is for space {other.name}, not {self.name}")
        keep = {}
        for c in self.choices:
            theirs = set(other.choice(c.key).options)
            both = [o for o in c.options if o in theirs]
            if not both:
                raise InvalidArchitecture(f"{what} covers {c.key} in {{{other.choice(c.key).allowed}}}, which "
                                          f"{self.name} excludes ({c.key} in {{{c.allowed}}})")
            if len(both) < len(c.options):
                keep[c.key] = both
        return self.restrict(**keep) if keep else self

    def genomes_in(self, superset: "SearchSpace", genomes: np.ndarray) -> np.ndarray:
        """``genomes`` of this space written in the encoding of ``superset`` (a space of the same family that
        holds every option of this one), vectorized; e.g. to ask a predictor fitted on a larger space."""
        genomes = self.check_genomes(genomes)
        if superset is self or superset.name == self.name:
            return genomes
        out = np.zeros((len(genomes), superset.n_genes), dtype=np.int64)
        for c in superset.choices:
            if c.key not in superset.gene_slices:
                continue
            if c.key not in self._choice:
                raise InvalidArchitecture(f"space {self.name} has no choice {c.key!r} of {superset.name}")
            lut = np.array([superset._index[c.key].get(o, -1) for o in self.choice(c.key).options], dtype=np.int64)
            if (lut < 0).any():
                raise InvalidArchitecture(f"space {self.name} allows {c.key} values that {superset.name} does not")
            sl = self.gene_slices.get(c.key)
            out[:, superset.gene_slices[c.key]] = lut[genomes[:, sl]] if sl is not None else lut[0]
        return out

    def extremes(self) -> tuple[Arch, Arch]:
        """(largest, smallest) subnet. Default: every choice at its largest / smallest option value."""
        largest, smallest = {}, {}
        for c in self.choices:
            if not all(isinstance(o, (int, float)) and not isinstance(o, bool) for o in c.options):
                raise NotSupported(f"space {self.name} does not say which of its subnets is the largest")
            hi, lo = max(c.options), min(c.options)
            largest[c.key] = hi if c.count == 1 else [hi] * c.count
            smallest[c.key] = lo if c.count == 1 else [lo] * c.count
        return largest, smallest

    def _on_restrict(self) -> None:
        """Hook for subclasses that cache per-option tables."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.describe_genome()})"


def _hashable(v: Any) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True
