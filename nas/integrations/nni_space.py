"""NNI (Microsoft's Neural Network Intelligence) as a way to search this engine's spaces.

A space becomes NNI's classic search-space JSON (one ``choice`` per gene, keyed by the gene's name,
e.g. ``ks[3]``), which ``nnictl`` experiments hand to any NNI tuner (TPE, Evolution, Anneal, ...),
or an ``nni.mutable`` space for NNI 3's Python API. What a tuner proposes comes back as genomes and
arch dicts of the space; ``nas.integrations.nni_trial`` is the trial that scores them. The JSON
needs nothing but this engine; the ``nni.mutable`` form needs the ``nni`` extra.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np

from search_spaces import Arch, SearchSpace
from search_spaces.errors import InvalidInput, NotSupported

__all__ = ["nni_search_space", "nni_mutable", "genomes_from_nni", "arch_from_nni"]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _genes(space: SearchSpace) -> list[tuple[str, tuple]]:
    """(gene name, that gene's options) in genome order."""
    return [(name, space.choice(key).options) for name, key in zip(space.gene_names, space.gene_keys)]


def nni_search_space(space: SearchSpace) -> dict[str, dict]:
    """NNI's search-space JSON: ``{gene: {"_type": "choice", "_value": [options]}}``."""
    return {name: {"_type": "choice", "_value": [_plain(o) for o in options]} for name, options in _genes(space)}


def nni_mutable(space: SearchSpace):
    """The space as an ``nni.mutable.MutableDict`` of ``Categorical`` genes (needs the nni extra)."""
    try:
        from nni.mutable import Categorical, MutableDict
    except ImportError:
        raise NotSupported("NNI is not installed; install the extra: pip install -e '.[nni]'") from None
    return MutableDict({name: Categorical([_plain(o) for o in options], label=name) for name, options in _genes(space)})


def genomes_from_nni(space: SearchSpace, samples: Iterable[Mapping[str, Any]]) -> np.ndarray:
    """Genomes ``[n, n_genes]`` for parameter dicts an NNI tuner proposed (raises naming a bad one)."""
    genes = _genes(space)
    known = {name for name, _ in genes}
    rows = []
    for sample in samples:
        if not isinstance(sample, Mapping):
            raise InvalidInput(f"an NNI sample must be a dict of gene -> value, got {type(sample).__name__}")
        missing = [name for name, _ in genes if name not in sample]
        if missing:
            raise InvalidInput(f"NNI sample lacks gene {missing[0]!r} of space {space.name} "
                               f"(was its search space made by nas nni-space for {space.name}?)")
        extra = [k for k in sample if k not in known]
        if extra:
            raise InvalidInput(f"NNI sample has gene {extra[0]!r}, unknown in space {space.name}")
        row = []
        for name, options in genes:
            value = _plain(sample[name])
            if value not in options:
                raise InvalidInput(f"NNI sample sets {name}={value!r}; allowed: {', '.join(map(str, options))}")
            row.append(options.index(value))
        rows.append(row)
    return space.check_genomes(np.asarray(rows, dtype=np.int64).reshape(len(rows), space.n_genes))


def arch_from_nni(space: SearchSpace, sample: Mapping[str, Any]) -> Arch:
    """The arch dict of one NNI sample."""
    return space.decode(genomes_from_nni(space, [sample])[0])
