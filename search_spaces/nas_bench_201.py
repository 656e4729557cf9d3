"""NAS-Bench-201's cell space: 6 edges of a 4-node cell, each one of 5 operations (15,625 cells).

The arch is ``{"ops": [op on edge 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2]}``, the edge order of
NAS-Bench-201's arch strings (``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``). Every cell is its own
benchmark entry (each was trained separately), so no two genomes are treated as equivalent.
Pure numpy: the tabular accuracy and latency live in ``nas.benchmark``, not here.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ._registry import register_space
from ._space import Arch, Choice, SearchSpace
from .errors import InvalidArchitecture

__all__ = ["NASBench201Space", "OPS", "EDGES", "nas_bench_201"]

#: NAS-Bench-201's operation order
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (to, from) node pairs in the order of the arch string
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
#: the four input->output paths of the cell, as edge indices (BANANAS' path encoding enumerates them)
PATHS = ((3,), (0, 4), (1, 5), (0, 2, 5))


class NASBench201Space(SearchSpace):
    def __init__(self, name: str = "nas-bench-201"):
        super().__init__(name, [Choice("ops", OPS, len(EDGES), "operation per cell edge (1<-0, 2<-0, 2<-1, "
                                                                "3<-0, 3<-1, 3<-2)")],
                         description="NAS-Bench-201 cells: 6 edges x 5 ops (tabular benchmark; see nas benchmark)")

    # ------------------------------------------------------------ arch strings
    def arch_str(self, arch: Mapping) -> str:
        """NAS-Bench-201's string form, e.g. ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|``."""
        ops = self.validate(arch)["ops"]
        nodes = []
        for to in (1, 2, 3):
            nodes.append("|" + "|".join(f"{ops[i]}~{src}" for i, (t, src) in enumerate(EDGES) if t == to) + "|")
        return "+".join(nodes)

    def genomes_from_strings(self, strings) -> np.ndarray:
        """Genomes for a batch of NAS-Bench-201 arch strings (raises naming the first bad one)."""
        index = {op: i for i, op in enumerate(OPS)}
        out = np.empty((len(strings), len(EDGES)), dtype=np.int64)
        for row, text in enumerate(strings):
            try:
                tokens = [tok.split("~") for node in str(text).split("+") for tok in node.strip("|").split("|")]
                pairs = [(index[op], int(src)) for op, src in tokens]
                expected = [src for _, src in EDGES]
                if [src for _, src in pairs] != expected:
                    raise ValueError
            except (KeyError, ValueError):
                raise InvalidArchitecture(
                    f"{text!r} is not a NAS-Bench-201 arch string (expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2| "
                    f"with ops {', '.join(OPS)})"
                ) from None
            out[row] = [op for op, _ in pairs]
        return out

    def op_ids(self, genomes: np.ndarray) -> np.ndarray:
        """Index into ``OPS`` of each edge's op (differs from the genome in restricted spaces)."""
        lut = np.array([OPS.index(o) for o in self.choice("ops").options], dtype=np.int64)
        return lut[self.check_genomes(genomes)]

    def cell_index(self, genomes: np.ndarray) -> np.ndarray:
        """A dense index 0..15624 per cell (mixed radix over ``OPS``, first edge most significant)."""
        weights = len(OPS) ** np.arange(len(EDGES) - 1, -1, -1)
        return self.op_ids(genomes) @ weights

    def all_genomes(self) -> np.ndarray:
        """Every cell of this space (15,625 unless restricted)."""
        grid = np.indices(tuple(self.n_options)).reshape(self.n_genes, -1).T
        return np.ascontiguousarray(grid, dtype=np.int64)

    # -------------------------------------------------------------- features
    def feature_kinds(self) -> tuple[str, ...]:
        return super().feature_kinds() + ("path", "graph")

    def features(self, genomes: np.ndarray, kind: str = "onehot") -> np.ndarray:
        if kind == "path":
            return self.path_features(genomes)
        if kind == "graph":
            return self.graph_features(genomes)
        return super().features(genomes, kind)

    def edge_status(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(computed, live)``, each ``[n, 6]``: an edge's op is *computed* when its output can reach
        the cell output (runtimes that prune dead ops skip the others) and *live* when it also gets
        the cell input, i.e. lies on an input->output path (only live ops change what the cell computes)."""
        on = self.op_ids(genomes) != 0
        n = len(on)
        to_out = np.zeros((n, 4), dtype=bool)
        to_out[:, 3] = True
        for node in (2, 1):
            for e, (to, src) in enumerate(EDGES):
                if src == node:
                    to_out[:, node] |= on[:, e] & to_out[:, to]
        from_in = np.zeros((n, 4), dtype=bool)
        from_in[:, 0] = True
        for node in (1, 2, 3):
            for e, (to, src) in enumerate(EDGES):
                if to == node:
                    from_in[:, node] |= on[:, e] & from_in[:, src]
        computed = np.stack([on[:, e] & to_out[:, to] for e, (to, _) in enumerate(EDGES)], axis=1)
        live = np.stack([computed[:, e] & from_in[:, src] for e, (_, src) in enumerate(EDGES)], axis=1)
        return computed, live

    def graph_features(self, genomes: np.ndarray) -> np.ndarray:
        """One-hot ops of all edges, of computed edges and of live edges (3 x 30 columns): latency
        follows the ops a runtime executes, accuracy the ops on live paths."""
        ops = self.op_ids(genomes)
        computed, live = self.edge_status(genomes)
        n, n_ops = len(ops), len(OPS)
        out = np.zeros((n, 3 * len(EDGES) * n_ops), dtype=np.float32)
        cols = np.arange(len(EDGES))[None, :] * n_ops + ops
        for block, mask in enumerate((np.ones_like(live), computed, live)):
            rows, edges = np.nonzero(mask)
            out[rows, block * len(EDGES) * n_ops + cols[rows, edges]] = 1.0
        return out

    def path_features(self, genomes: np.ndarray) -> np.ndarray:
        """BANANAS' path encoding: one indicator per (input->output path, op sequence) that the cell
        contains; paths through a ``none`` edge carry no signal and are left out. 5+25+25+125 columns."""
        genomes = self.op_ids(genomes)
        n_ops = len(OPS)
        blocks = []
        for path in PATHS:
            code = np.zeros(len(genomes), dtype=np.int64)
            alive = np.ones(len(genomes), dtype=bool)
            for edge in path:
                code = code * n_ops + genomes[:, edge]
                alive &= genomes[:, edge] != 0
            block = np.zeros((len(genomes), n_ops ** len(path)), dtype=np.float32)
            rows = np.nonzero(alive)[0]
            block[rows, code[rows]] = 1.0
            blocks.append(block)
        return np.concatenate(blocks, axis=1)


@register_space("nas-bench-201", aliases=("nb201",))
def nas_bench_201() -> NASBench201Space:
    return NASBench201Space()


def decode_arch_str(text: str) -> Arch:
    """The arch dict of one NAS-Bench-201 arch string."""
    space = NASBench201Space()
    return space.decode(space.genomes_from_strings([text])[0])
