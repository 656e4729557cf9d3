"""Named sets of NAS-Bench-201 dataset x device pairs, and parsing ``dataset:device`` / set names.

``tuned`` is the three pairs the searchers' benchmark defaults were first tuned on; ``broad`` is twelve
other pairs spanning the three datasets and the device kinds (GPUs at batch sizes 1, 32 and 256,
server CPUs, phones, the Raspberry Pi, the FPGA and the Eyeriss ASIC), none of them a tuned pair, so a
score on ``broad`` is a score on problems the defaults were not fitted to (until they are tuned on its
aggregate, which is what NB201_OPTIONS now are).
"""

from __future__ import annotations

from typing import Sequence

from search_spaces.errors import InvalidInput, UnknownName

from .nb201 import DATASETS, NB201Table

__all__ = ["PAIR_SETS", "parse_pairs", "pair_label"]

PAIR_SETS: dict[str, list[tuple[str, str]]] = {
    "tuned": [("cifar10", "raspi4"), ("cifar100", "pixel3"), ("ImageNet16-120", "eyeriss")],
    "broad": [
        ("cifar10", "1080ti_1"), ("cifar10", "gold_6226"), ("cifar10", "samsung_a50"), ("cifar10", "eyeriss"),
        ("cifar100", "2080ti_32"), ("cifar100", "silver_4210r"), ("cifar100", "pixel2"), ("cifar100", "raspi4"),
        ("ImageNet16-120", "titan_rtx_256"), ("ImageNet16-120", "silver_4114"),
        ("ImageNet16-120", "essential_ph_1"), ("ImageNet16-120", "fpga"),
    ],
}
#: what each broad pair's device is, for the JSON and the plot
DEVICE_KINDS = {"1080ti_1": "GPU, batch 1", "2080ti_32": "GPU, batch 32", "titan_rtx_256": "GPU, batch 256",
                "gold_6226": "server CPU", "silver_4210r": "server CPU", "silver_4114": "server CPU",
                "samsung_a50": "phone", "pixel2": "phone", "essential_ph_1": "phone", "raspi4": "Raspberry Pi",
                "eyeriss": "ASIC (Eyeriss)", "fpga": "FPGA", "pixel3": "phone"}


def pair_label(dataset: str, device: str) -> str:
    return f"{dataset}:{device}"


def _bad(item: str, table: NB201Table | None, why: str) -> InvalidInput:
    devices = ", ".join(table.devices) if table is not None else "the table's lat_<device> columns"
    return InvalidInput(f"bad pair {item!r} ({why}); give a set ({', '.join(PAIR_SETS)}) or dataset:device with "
                        f"dataset one of {', '.join(DATASETS)} and device one of {devices}")


def parse_pairs(items: Sequence[str] | str, table: NB201Table | None = None) -> list[tuple[str, str]]:
    """Pair-set names (``broad``, ``tuned``) and ``dataset:device`` items -> (dataset, device) pairs, in order,
    each once. Dataset aliases (c10, c100, in16) are resolved; devices are checked against ``table`` when given.
    Anything else raises one ``InvalidInput`` line listing the sets, datasets and devices allowed."""
    if isinstance(items, str):
        items = [items]
    items = [part for item in items for part in str(item).replace(",", " ").split()]
    if not items:
        raise _bad("", table, "no pairs given")
    out: list[tuple[str, str]] = []
    for item in items:
        if item in PAIR_SETS:
            missing = [v for _, v in PAIR_SETS[item] if table is not None and v not in table.devices]
            if missing:
                raise _bad(item, table, f"the set needs device {missing[0]!r}, which this table lacks")
            out.extend(PAIR_SETS[item])
            continue
        dataset, colon, device = item.partition(":")
        if not colon or not dataset or not device:
            raise _bad(item, table, "not a set name nor dataset:device")
        try:
            dataset = NB201Table.dataset_name(dataset)
        except UnknownName:
            raise _bad(item, table, f"unknown dataset {dataset!r}") from None
        if table is not None and device not in table.devices:
            raise _bad(item, table, f"unknown device {device!r}")
        out.append((dataset, device))
    return list(dict.fromkeys(out))
