"""CLI: `nas predictor fit|eval|import-ofa` and `nas predictors`; bad input gives one line and exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from nas.cli import app
from predictors import load_predictor
from search_spaces import get_space

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def _accuracy(space, genomes):
    """A smooth stand-in for top-1: grows with log MACs, plus a per-kernel-size effect."""
    macs = space.count(genomes)["macs"].astype(float)
    ks = np.where(space.active_blocks(genomes), space.values(genomes, "ks"), 0)
    return 70.0 + 3.0 * np.log(macs / 2e8) + 0.03 * ks.sum(axis=1)


@pytest.fixture(scope="module")
def dynast_csv(tmp_path_factory):
    """A DyNAS-T-style results CSV of 160 subnets at r=224, one arch measured twice."""
    space = get_space("ofa-mbv3[r=224]")
    genomes = space.sample(160, np.random.default_rng(5))
    genomes = np.concatenate([genomes, genomes[:1]])
    y = _accuracy(space, genomes)
    subnets = [repr({"wid": None, **{k: v for k, v in space.decode(g).items() if k != "r"}, "r": [224]})
               for g in genomes]
    path = tmp_path_factory.mktemp("data") / "dynast.csv"
    pd.DataFrame({"Sub-network": subnets, "MACs": space.count(genomes)["macs"], "Top-1 Acc (%)": y}).to_csv(
        path, index=False)
    return path


def test_fit_then_eval_with_json_and_plot(dynast_csv, tmp_path):
    out = tmp_path / "p"
    result = invoke("predictor", "fit", "--space", "ofa-mbv3", "--data", dynast_csv, "--kind", "ridge",
                    "--out", out, "--folds", "3", "--json")
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.output)
    assert fitted["space"] == "ofa-mbv3[r=224]" and fitted["subnets"] == 160 and fitted["rows"] == 161
    assert fitted["cv"]["folds"] == 3 and fitted["cv"]["kendall_tau"] > 0.8
    model = load_predictor(out)
    assert model.metadata["source"]["files"][0]["sha256"] and model.metadata["fit_command"].startswith("nas predictor")

    plot = tmp_path / "scatter.png"
    result = invoke("predictor", "eval", "--predictor", out, "--data", dynast_csv, "--plot", plot, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["metrics"]["n"] == 160 and report["metrics"]["kendall_tau"] > 0.9
    assert report["shipped_cv"]["kendall_tau"] == fitted["cv"]["kendall_tau"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    result = invoke("predictor", "eval", "--predictor", out, "--data", dynast_csv, "--plot", tmp_path / "b.png")
    assert result.exit_code == 0 and "Kendall tau" in result.output and "its own CV" in result.output


def test_fit_reads_the_engines_results_csv(dynast_csv, tmp_path):
    df = pd.read_csv(dynast_csv)
    space = get_space("ofa-mbv3")
    archs = [eval(s, {}) for s in df["Sub-network"]]  # test data written above: plain dict literals
    configs = [json.dumps({"ks": a["ks"], "e": a["e"], "d": a["d"], "r": 224}) for a in archs]
    engine = tmp_path / "results.csv"
    pd.DataFrame({"config": configs, "accuracy": df["Top-1 Acc (%)"]}).to_csv(engine, index=False)
    result = invoke("predictor", "fit", "--space", space.name, "--data", engine, "--kind", "ridge",
                    "--out", tmp_path / "q", "--folds", "0")
    assert result.exit_code == 0, result.output
    assert "fitted ridge on 160 unique subnets" in result.output and "ofa-mbv3[r=224]" in result.output


def test_predictors_lists_kinds_and_shipped(tmp_path):
    result = invoke("predictors", "--json")
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    assert {"mlp", "ridge", "svr", "gbm", "ensemble"} <= set(listing["kinds"])
    for info in listing["shipped"]:
        assert {"name", "path", "kind", "space", "metadata"} <= set(info)
        assert "kendall_tau" in info["metadata"]["cv"] and "rmse" in info["metadata"]["cv"]
    assert invoke("predictors").exit_code == 0


def _tiny_ofa_checkpoint(path, n_in=128, seed=0):
    """A state dict in once-for-all's tutorial layout (nn.Sequential 0/2/4), small hidden widths."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(n_in, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8), torch.nn.ReLU(),
                              torch.nn.Linear(8, 1))
    torch.save(net.state_dict(), path)
    return net


def test_import_ofa_reproduces_the_torch_network(tmp_path):
    pth = tmp_path / "acc_predictor.pth"
    net = _tiny_ofa_checkpoint(pth)
    result = invoke("predictor", "import-ofa", pth, "--space", "ofa-mbv3-w1.2", "--out", tmp_path / "ofa", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["layers"] == [16, 8, 1] and info["max_abs_diff_vs_torch"] < 1e-3
    model = load_predictor(tmp_path / "ofa")
    space = get_space("ofa-mbv3-w1.2")
    genomes = space.sample(300, np.random.default_rng(2))
    with torch.no_grad():
        reference = net(torch.tensor(space.features(genomes, "ofa"), dtype=torch.float32))[:, 0].double().numpy()
    np.testing.assert_allclose(model.predict(genomes), reference * 100, atol=1e-3)


@pytest.mark.parametrize("case", ["missing file", "not torch", "wrong width", "space without ofa encoding"])
def test_import_ofa_bad_input(tmp_path, case):
    pth = tmp_path / "acc.pth"
    space = "ofa-mbv3-w1.2"
    if case == "not torch":
        pth.write_bytes(b"this is not a checkpoint")
    elif case == "wrong width":
        _tiny_ofa_checkpoint(pth, n_in=100)
    elif case == "space without ofa encoding":
        _tiny_ofa_checkpoint(pth)
        space = "nas-bench-201"
    result = invoke("predictor", "import-ofa", pth, "--space", space, "--out", tmp_path / "o")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output


def _csv(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


_GOOD = "{'ks': " + str([3] * 20) + ", 'e': " + str([3] * 20) + ", 'd': [2, 2, 2, 2, 2], 'r': [224]}"


@pytest.mark.parametrize("case", ["missing label", "nan label", "no label column", "wrong genome length",
                                  "unknown columns", "missing file", "unknown kind", "other space predictor"])
def test_user_mistakes_exit_2_with_one_line(tmp_path, dynast_csv, case):
    data, extra = dynast_csv, []
    if case == "missing label":
        data = _csv(tmp_path, f"Sub-network,Top-1 Acc (%)\n\"{_GOOD}\",\n\"{_GOOD}\",75.0\n")
    elif case == "nan label":
        data = _csv(tmp_path, f"Sub-network,Top-1 Acc (%)\n\"{_GOOD}\",nan\n\"{_GOOD}\",75.0\n")
    elif case == "no label column":
        data = _csv(tmp_path, f"Sub-network,MACs\n\"{_GOOD}\",1\n")
    elif case == "wrong genome length":
        short = _GOOD.replace(str([3] * 20), str([3] * 19), 1)
        data = _csv(tmp_path, f"Sub-network,Top-1 Acc (%)\n\"{short}\",75.0\n\"{_GOOD}\",74.0\n")
    elif case == "unknown columns":
        data = _csv(tmp_path, "arch,acc\n1,2\n")
    elif case == "missing file":
        data = tmp_path / "nope.csv"
    elif case == "unknown kind":
        extra = ["--kind", "forest"]
    if case == "other space predictor":
        result = invoke("predictor", "fit", "--space", "ofa-mbv3", "--data", dynast_csv, "--kind", "ridge",
                        "--out", tmp_path / "p", "--folds", "0")
        assert result.exit_code == 0, result.output
        header = json.loads((tmp_path / "p.json").read_text())
        header["layout"] = get_space("ofa-mbv3-w1.2").layout_signature()
        (tmp_path / "p.json").write_text(json.dumps(header))
        result = invoke("predictor", "eval", "--predictor", tmp_path / "p", "--data", dynast_csv,
                        "--plot", tmp_path / "x.png")
    else:
        result = invoke("predictor", "fit", "--space", "ofa-mbv3", "--data", data, "--out", tmp_path / "p",
                        "--folds", "0", *extra)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output


def test_corrupt_predictor_file_exit_2(tmp_path, dynast_csv):
    result = invoke("predictor", "fit", "--space", "ofa-mbv3", "--data", dynast_csv, "--kind", "ridge",
                    "--out", tmp_path / "p", "--folds", "0")
    assert result.exit_code == 0, result.output
    npz = tmp_path / "p.npz"
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    result = invoke("predictor", "eval", "--predictor", tmp_path / "p", "--data", dynast_csv)
    assert result.exit_code == 2 and result.output.startswith("error: ") and "corrupt" in result.output
    assert len(result.output.strip().splitlines()) == 1
