"""NAS-Bench-201 as a table: measured accuracy and device latency of all 15,625 cells.

The CSV (``../shared/data/benchmarks/nas-bench-201/nb201_accuracy_latency.csv``, from NATS-Bench and
HELP) has one row per cell: ``arch_str``, 200-epoch test accuracy on three datasets
(``c10_test_200ep``, ``c100_test_200ep``, ``in16_test_200ep``) and latency on 26 device settings
(``lat_<device>``). Values are reordered by ``NASBench201Space.cell_index`` so that objectives are
one vectorized gather.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from search_spaces import get_space
from search_spaces.errors import InvalidInput, UnknownName
from search_spaces.nas_bench_201 import NASBench201Space

from ..search.objectives import Objective

__all__ = ["DATASETS", "NB201Table", "default_table_path"]

#: dataset name -> accuracy column
DATASETS = {"cifar10": "c10_test_200ep", "cifar100": "c100_test_200ep", "ImageNet16-120": "in16_test_200ep"}
_DATASET_ALIASES = {"c10": "cifar10", "c100": "cifar100", "in16": "ImageNet16-120", "imagenet16-120": "ImageNet16-120",
                    "imagenet16": "ImageNet16-120"}
RELATIVE_PATH = Path("benchmarks", "nas-bench-201", "nb201_accuracy_latency.csv")


def default_table_path() -> Path:
    """``$NAS_SHARED_DATA/benchmarks/...`` or ``../shared/data/benchmarks/...`` beside the repository."""
    root = os.environ.get("NAS_SHARED_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[3] / "shared" / "data"
    return base / RELATIVE_PATH


class NB201Table:
    """Accuracy per dataset and latency per device, indexed by cell (``space.cell_index``)."""

    def __init__(self, path: str | Path | None = None):
        path = Path(path) if path is not None else default_table_path()
        if not path.is_file():
            raise InvalidInput(f"NAS-Bench-201 table not found: {path} "
                               "(pass --data FILE; see ../shared/data/README.md)")
        try:
            df = pd.read_csv(path)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise InvalidInput(f"{path} is not a readable CSV: {str(exc).splitlines()[0]}") from None
        missing = [c for c in ["arch_str", *DATASETS.values()] if c not in df.columns]
        if missing:
            raise InvalidInput(f"{path} lacks the column {missing[0]!r}; expected arch_str, "
                               f"{', '.join(DATASETS.values())} and lat_<device> columns")
        self.path = path
        self.space: NASBench201Space = get_space("nas-bench-201")
        index = self.space.cell_index(self.space.genomes_from_strings(df["arch_str"].tolist()))
        n = self.space.size
        if len(np.unique(index)) != len(index) or len(index) != n:
            raise InvalidInput(f"{path} must list each of the {n} NAS-Bench-201 cells once; it has {len(df)} rows "
                               f"for {len(np.unique(index))} cells")
        order = np.argsort(index)
        self._columns = {c: df[c].to_numpy(np.float64)[order] for c in df.columns if c.startswith("lat_")}
        self._columns.update({c: df[c].to_numpy(np.float64)[order] for c in DATASETS.values()})
        self.devices = sorted(c[4:] for c in df.columns if c.startswith("lat_"))

    # ------------------------------------------------------------- columns
    @staticmethod
    def dataset_name(dataset: str) -> str:
        name = _DATASET_ALIASES.get(dataset.lower(), dataset)
        name = {k.lower(): k for k in DATASETS}.get(name.lower(), name)
        if name not in DATASETS:
            raise UnknownName(f"unknown NAS-Bench-201 dataset {dataset!r}; known: {', '.join(DATASETS)}")
        return name

    def device_name(self, device: str) -> str:
        if device not in self.devices:
            raise UnknownName(f"unknown NAS-Bench-201 device {device!r}; known: {', '.join(self.devices)}")
        return device

    def accuracy(self, dataset: str) -> np.ndarray:
        """Test accuracy (%) of every cell, in cell-index order."""
        return self._columns[DATASETS[self.dataset_name(dataset)]]

    def latency(self, device: str) -> np.ndarray:
        """Measured latency (ms) of every cell on ``device``, in cell-index order."""
        return self._columns["lat_" + self.device_name(device)]

    # ----------------------------------------------------------- objectives
    def objectives(self, dataset: str, device: str, expensive: bool = True) -> list[Objective]:
        """[accuracy (max), latency (min)] as table lookups. ``expensive`` (the default) marks both as
        measurements, so predictor-based searchers model them from evaluated cells only."""
        acc, lat = self.accuracy(dataset), self.latency(device)
        space = self.space
        source = f"NAS-Bench-201 table {self.path.name}"
        return [
            Objective("accuracy", lambda g: acc[space.cell_index(g)], "max", "%", expensive=expensive,
                      source=f"{source}: {self.dataset_name(dataset)} test accuracy, 200 epochs"),
            Objective("latency", lambda g: lat[space.cell_index(g)], "min", "ms", expensive=expensive,
                      source=f"{source}: measured latency on {device}"),
        ]

    def F(self, dataset: str, device: str) -> np.ndarray:
        """``[15625, 2]``: test error (100 - accuracy) and latency of every cell (both minimized)."""
        return np.stack([100.0 - self.accuracy(dataset), self.latency(device)], axis=1)
