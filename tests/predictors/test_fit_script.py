"""scripts/fit_shipped_predictor.py: picks a config by grouped CV and writes a loadable artifact with provenance."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd

from predictors import load_predictor
from search_spaces import get_space
from tests.conftest import REPO


def _script():
    path = REPO / "scripts" / "fit_shipped_predictor.py"
    spec = importlib.util.spec_from_file_location("fit_shipped_predictor", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_selects_by_cv_and_records_provenance(tmp_path):
    space = get_space("ofa-mbv3[r=224]")
    genomes = space.sample(150, np.random.default_rng(4))
    y = 70 + 3 * np.log(space.count(genomes)["macs"] / 2e8)
    data = tmp_path / "data"
    data.mkdir()
    archs = [repr({**{k: v for k, v in space.decode(g).items() if k != "r"}, "r": [224]}) for g in genomes]
    for i in range(2):  # two files, the second repeats the first 20 archs
        rows = slice(0, 150) if i == 0 else slice(0, 20)
        pd.DataFrame({"Sub-network": archs[rows], "Top-1 Acc (%)": y[rows] + 0.01 * i}).to_csv(
            data / f"part{i}.csv", index=False)
    script = _script()
    script.GRID = script.GRID[:3]  # ridge and two SVRs keep the test fast
    script.main(["--data", str(data), "--out", str(tmp_path / "p"), "--folds", "3", "--no-nested"])
    model = load_predictor(tmp_path / "p")
    meta = model.metadata
    assert model.space.name == "ofa-mbv3[r=224]"
    assert meta["source"]["rows"] == 170 and meta["source"]["unique_archs"] == 150
    assert [f["file"] for f in meta["source"]["files"]] == ["accuracy/data/part0.csv", "accuracy/data/part1.csv"]
    assert all(len(f["sha256"]) == 64 for f in meta["source"]["files"])
    grid = meta["selection"]["grid"]
    best = max(grid, key=lambda r: (round(r["kendall_tau"], 4), -r["rmse"]))
    assert meta["selection"]["chosen"] == {"kind": best["kind"], "params": best["params"]}
    assert meta["cv"]["folds"] == 3 and meta["cv"]["kendall_tau"] == best["kendall_tau"]
    assert meta["fit_command"].startswith("python scripts/fit_shipped_predictor.py --data")
