"""Fast ``results.csv`` rows, rendered as one byte matrix instead of one Python string per row.

Formatting rows is the search loop's main per-subnet cost once objectives are vectorized
(``decode_many`` + ``json.dumps`` + the csv module: ~15 us a row). Here every piece of a row is a
column block of a ``uint8`` matrix: literal text, a per-gene token table (arch id, genome digit,
config JSON, each pre-rendered and CSV-quoted) gathered by the genome, and numbers rendered by
numpy (``astype("S")`` gives Python's shortest round-trip repr). Tokens are NUL-padded to their
block's width and the NULs are deleted at the end: ~0.5 us a row. ``tests/nas/results`` checks
the text against ``space.arch_ids`` and ``json.dumps(space.decode(...))`` for every space.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd

from search_spaces import SearchSpace
from search_spaces.names import format_value

__all__ = ["RowFormatter", "DynastFormatter", "DYNAST_COLUMNS"]


def _table(tokens: list[str]) -> np.ndarray:
    """Tokens as a NUL-padded ``uint8`` matrix ``[n_tokens, width]``."""
    raw = [t.encode("utf-8") for t in tokens]
    width = max(1, max(len(r) for r in raw))
    return np.frombuffer(b"".join(r.ljust(width, b"\0") for r in raw), dtype=np.uint8).reshape(len(raw), width)


def _q(text: str) -> str:
    return text.replace('"', '""')  # CSV quoting inside a quoted field


class _Segment:
    """A run of row text made of literals and per-gene token slots, compiled into a few stacked tables
    so that rendering n genomes takes a handful of gathers: short literals are folded into the next
    slot's tokens as a prefix (keeping tables narrow); longer ones become constant pieces."""

    FOLD = 2  # longest literal folded into tokens

    def __init__(self):
        self._items: list = []  # str literal | (gene index, tokens, marks inactive genes)

    def text(self, text: str) -> None:
        if text:
            self._items.append(text)

    def slot(self, gene: int, tokens: list[str], inactive: str | None = None) -> None:
        self._items.append((gene, tokens + ([inactive] if inactive is not None else []), inactive is not None))

    def compile(self) -> None:
        self.parts: list[tuple] = []
        run: list[tuple] = []
        prefix = ""
        for item in self._items + [None]:
            if isinstance(item, str):
                prefix += item
                continue
            if item is not None and len(prefix.encode("utf-8")) <= self.FOLD:
                gene, tokens, marks = item
                run.append((gene, [prefix + t for t in tokens], marks))
                prefix = ""
                continue
            if run:
                self.parts.append(self._gather(run))
                run = []
            if prefix:
                self.parts.append(("const", prefix.encode("utf-8")))
                prefix = ""
            if item is not None:
                run.append(item)

    @staticmethod
    def _gather(run: list[tuple]) -> tuple:
        tables = [_table(t) for _, t, _ in run]
        stacked = np.zeros((len(tables), max(t.shape[0] for t in tables), max(t.shape[1] for t in tables)),
                           dtype=np.uint8)
        for i, t in enumerate(tables):
            stacked[i, : t.shape[0], : t.shape[1]] = t
        genes = np.array([g for g, _, _ in run], dtype=np.int64)
        marks = np.array([m for _, _, m in run], dtype=bool)
        last = np.array([len(t) - 1 for _, t, _ in run], dtype=np.int64)
        return ("gather", genes, marks, last, stacked)

    def render(self, genomes: np.ndarray, active: np.ndarray) -> list[np.ndarray]:
        n = len(genomes)
        out = []
        for part in self.parts:
            if part[0] == "const":
                out.append(np.broadcast_to(np.frombuffer(part[1], dtype=np.uint8), (n, len(part[1]))))
                continue
            _, genes, marks, last, table = part
            index = genomes[:, genes]
            if marks.any():
                index = np.where(marks & ~active[:, genes], last, index)
            out.append(table[np.arange(len(genes))[None, :], index].reshape(n, -1))
        return out


class RowFormatter:
    """Renders evaluated subnets of ``space`` as CSV lines with the columns
    ``arch_id, generation, <metrics...>, feasible, genome, config``."""

    def __init__(self, space: SearchSpace, metric_names: list[str]):
        self.space = space
        self.metric_names = list(metric_names)
        self.columns = ["arch_id", "generation", *self.metric_names, "feasible", "genome", "config"]
        # row = '"<arch id>",' <generation> ,<metrics...>, <feasible> ',<genome>,"<config>"' newline
        self._id = _Segment()
        self._id.text('"')
        for i, c in enumerate(space.choices):
            self._id.text(("|" if i else "") + _q(f"{c.key}:"))
            if c.key in space.gene_slices:
                tokens = [_q(format_value(o)) for o in c.options]
                for k, j in enumerate(range(space.gene_slices[c.key].start, space.gene_slices[c.key].stop)):
                    self._id.text("," if k else "")
                    self._id.slot(j, tokens, inactive="-")
            else:
                self._id.text(_q(",".join([format_value(c.options[0])] * c.count)))
        self._id.text('",')
        self._rest = _Segment()
        self._rest.text(",")
        digits = [str(k) for k in range(int(space.n_options.max(initial=1)))]
        for j in range(space.n_genes):
            self._rest.text(" " if j else "")
            self._rest.slot(j, digits)
        self._rest.text(',"{')
        for i, c in enumerate(space.choices):
            self._rest.text(("," if i else "") + _q(json.dumps(c.key)) + ":")
            if c.key in space.gene_slices:
                tokens = [_q(json.dumps(o)) for o in c.options]
                self._rest.text("[" if c.count > 1 else "")
                for k, j in enumerate(range(space.gene_slices[c.key].start, space.gene_slices[c.key].stop)):
                    self._rest.text("," if k else "")
                    self._rest.slot(j, tokens)
                self._rest.text("]" if c.count > 1 else "")
            else:
                fixed = [c.options[0]] * c.count
                self._rest.text(_q(json.dumps(fixed if c.count > 1 else fixed[0], separators=(",", ":"))))
        self._rest.text('}"\n')
        self._id.compile()
        self._rest.compile()

    @property
    def header(self) -> str:
        return ",".join(self.columns) + "\n"

    def lines(self, genomes: np.ndarray, values: dict[str, np.ndarray], generation: np.ndarray | int,
              feasible: np.ndarray) -> str:
        """CSV text (no header) for the given rows; ``generation`` is one int or one per row."""
        n = len(genomes)
        if n == 0:
            return ""
        genomes = np.asarray(genomes, dtype=np.int64)
        active = self.space.active_mask(genomes)
        comma = np.broadcast_to(np.frombuffer(b",", dtype=np.uint8), (n, 1))
        numbers = [np.broadcast_to(np.asarray(generation, dtype=np.int64), (n,)).astype("S20")]
        numbers += [np.asarray(values[m], dtype=np.float64).reshape(n).astype("S32") for m in self.metric_names]
        numbers.append(np.where(np.asarray(feasible, dtype=bool), b"True", b"False"))
        pieces = self._id.render(genomes, active)
        for i, col in enumerate(numbers):
            if i:
                pieces.append(comma)
            pieces.append(col.view(np.uint8).reshape(n, col.dtype.itemsize))
        pieces += self._rest.render(genomes, active)
        flat = np.concatenate(pieces, axis=1).ravel()
        return flat[flat != 0].tobytes().decode("utf-8")  # drop the NUL padding

    def frame(self, genomes: np.ndarray, values: dict[str, np.ndarray], generation: np.ndarray | int,
              feasible: np.ndarray) -> pd.DataFrame:
        """The same rows as a DataFrame (read back through pandas, so it equals reading results.csv)."""
        if len(genomes) == 0:
            return pd.DataFrame({c: [] for c in self.columns})
        return read_results_csv(io.StringIO(self.header + self.lines(genomes, values, generation, feasible)))


#: DyNAS-T's results CSV columns, and the metric each number column comes from (0 where a run lacks it)
DYNAST_COLUMNS = {"Sub-network": None, "Date": None, "Model Parameters": "params", "Latency (ms)": "latency",
                  "MACs": "macs", "Top-1 Acc (%)": "accuracy"}


class DynastFormatter:
    """Renders subnets as rows of DyNAS-T's results CSV (``tables.to_dynast`` of the results rows, written
    by pandas, without parsing every config back from JSON): ``Sub-network`` is the Python dict
    literal DyNAS-T writes (``{'wid': None, 'ks': [...], ..., 'r': [224]}``, every gene as recorded),
    then the date and the metric columns."""

    def __init__(self, space: SearchSpace):
        self.space = space
        self._net = _Segment()
        self._net.text('"{')
        keys = ["wid", *[c.key for c in space.choices if c.key != "wid"]]
        by_key = {c.key: c for c in space.choices}
        for i, key in enumerate(keys):
            self._net.text((", " if i else "") + _q(repr(key)) + ": ")
            c = by_key.get(key)
            if c is None:  # DyNAS-T's elastic width, absent from this space
                self._net.text("None")
                continue
            listed = c.count > 1 or key == "r"  # DyNAS-T lists the resolution
            self._net.text("[" if listed else "")
            if c.count > 1 and key == "r":
                self._net.text("[")
            if c.key in space.gene_slices:
                tokens = [_q(repr(json.loads(json.dumps(o)))) for o in c.options]
                for k, j in enumerate(range(space.gene_slices[c.key].start, space.gene_slices[c.key].stop)):
                    self._net.text(", " if k else "")
                    self._net.slot(j, tokens)
            else:
                fixed = json.loads(json.dumps(c.options[0]))
                self._net.text(_q(", ".join([repr(fixed)] * c.count)))
            if c.count > 1 and key == "r":
                self._net.text("]")
            self._net.text("]" if listed else "")
        self._net.text('}",')
        self._net.compile()

    @property
    def header(self) -> str:
        return ",".join(DYNAST_COLUMNS) + "\n"

    def lines(self, genomes: np.ndarray, values: dict[str, np.ndarray], date: str) -> str:
        n = len(genomes)
        if n == 0:
            return ""
        genomes = np.asarray(genomes, dtype=np.int64)
        pieces = self._net.render(genomes, np.ones(genomes.shape, dtype=bool))
        if any(ch in date for ch in ',"\n') or not date:
            raise ValueError(f"a DyNAS-T date is written unquoted, without commas or quotes: {date!r}")
        date_bytes = date.encode("utf-8")
        pieces.append(np.broadcast_to(np.frombuffer(date_bytes, dtype=np.uint8), (n, len(date_bytes))))
        comma = np.broadcast_to(np.frombuffer(b",", dtype=np.uint8), (n, 1))
        for metric in [m for m in DYNAST_COLUMNS.values() if m is not None]:
            column = values.get(metric)
            column = np.zeros(n) if column is None else np.asarray(column, dtype=np.float64).reshape(n)
            text = column.astype("S32")
            pieces += [comma, text.view(np.uint8).reshape(n, text.dtype.itemsize)]
        pieces.append(np.broadcast_to(np.frombuffer(b"\n", dtype=np.uint8), (n, 1)))
        flat = np.concatenate(pieces, axis=1).ravel()
        return flat[flat != 0].tobytes().decode("utf-8")


def read_results_csv(source) -> pd.DataFrame:
    """Read results rows written by ``RowFormatter`` (ids, genomes and configs stay strings)."""
    return pd.read_csv(source, keep_default_na=False, na_values=["", "nan"],
                       dtype={"arch_id": str, "genome": str, "config": str})
