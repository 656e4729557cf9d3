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
    assert "gamma (a number > 0 or 'scale'" in listing["options"]["svr"] and set(listing["options"]) == set(
        listing["kinds"])
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


def test_eval_writes_no_file_unless_asked(tmp_path, dynast_csv, monkeypatch):
    result = invoke("predictor", "fit", "--space", "ofa-mbv3", "--data", dynast_csv, "--kind", "ridge",
                    "--out", tmp_path / "p", "--folds", "0")
    assert result.exit_code == 0, result.output
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    result = invoke("predictor", "eval", "--predictor", tmp_path / "p", "--data", dynast_csv)
    assert result.exit_code == 0, result.output
    assert not list(work.iterdir()) and "scatter plot" not in result.output


# --------------------------------------------------------------- bad input: one `error:` line, exit 2, no files
def _one_error(result, *words: str) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _no_files(folder, *names):
    left = [p.name for p in folder.iterdir() if p.name.startswith(names)]
    assert not left, left


@pytest.fixture(scope="module")
def fitted(dynast_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("fitted") / "p"
    result = invoke("predictor", "fit", "--data", dynast_csv, "--kind", "ridge", "--out", out, "--folds", "0")
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("option, words", [
    ("gamma=abc", ["gamma='abc'", "must be a number > 0 or 'scale'"]),
    ("nope=1", ["unknown svr option 'nope'", "C (", "epsilon (", "gamma ("]),
    ("C=-1", ["C=-1", "> 0"]),
    ("C=true", ["C=true"]),
    ("epsilon", ["key=value"]),
])
def test_fit_refuses_bad_options_before_reading_data(tmp_path, dynast_csv, option, words):
    result = invoke("predictor", "fit", "--data", dynast_csv, "--kind", "svr", "--option", option,
                    "--out", tmp_path / "p", "--folds", "0")
    _one_error(result, *words)
    _no_files(tmp_path, "p")


def test_fit_names_a_bad_ensemble_member(tmp_path, dynast_csv):
    result = invoke("predictor", "fit", "--data", dynast_csv, "--kind", "ensemble", "--option",
                    'members=["ridge", {"kind": "mlp", "lr": 0}]', "--out", tmp_path / "p", "--folds", "0")
    _one_error(result, "ensemble member 2", "lr=0")


@pytest.mark.parametrize("case", ["header only", "too few for the folds", "one subnet", "folds 1", "folds -1",
                                  "seed -1", "seed too large", "same label everywhere"])
def test_fit_says_what_data_and_folds_it_needs(tmp_path, dynast_csv, case):
    data, extra, words = dynast_csv, [], []
    rows = pd.read_csv(dynast_csv)
    if case == "header only":
        data = tmp_path / "empty.csv"
        rows[:0].to_csv(data, index=False)
        words = ["no rows, only a header", "at least 2", "5-fold cross-validation at least 10"]
    elif case == "too few for the folds":
        data = tmp_path / "few.csv"
        rows[:7].to_csv(data, index=False)
        words = ["only 7 distinct subnets", "at least 10 (2 per fold)", "at most 3 folds"]
    elif case == "one subnet":
        data = tmp_path / "one.csv"
        rows.iloc[[0, 0]].to_csv(data, index=False)
        extra, words = ["--folds", "0"], ["only 1 distinct subnet (2 rows)", "at least 2"]
    elif case == "folds 1":
        extra, words = ["--folds", "1"], ["folds must be 0", ">= 2", "got 1"]
    elif case == "folds -1":
        extra, words = ["--folds", "-1"], ["--folds"]
    elif case == "seed -1":
        extra, words = ["--seed", "-1"], ["--seed"]
    elif case == "seed too large":
        extra, words = ["--seed", str(2**40)], ["--seed"]
    elif case == "same label everywhere":
        data = tmp_path / "flat.csv"
        rows.assign(**{"Latency (ms)": 0}).to_csv(data, index=False)
        extra, words = ["--label", "Latency (ms)"], ["same 'Latency (ms)'", "nothing to learn"]
    _one_error(invoke("predictor", "fit", "--data", data, "--kind", "ridge", "--out", tmp_path / "p", *extra), *words)
    _no_files(tmp_path, "p")


@pytest.mark.parametrize("case", ["empty directory", "directory of CSVs", "binary file", "empty arch cell",
                                  "not a dict", "out is a directory", "out names a directory"])
def test_fit_bad_data_paths_and_cells(tmp_path, dynast_csv, case):
    data, out, words = tmp_path / "d", tmp_path / "p", []
    if case == "empty directory":
        data.mkdir()
        words = ["is an empty directory", "expected a results CSV file"]
    elif case == "directory of CSVs":
        data.mkdir()
        (data / "a.csv").write_text("x\n")
        words = ["is a directory", "a.csv"]
    elif case == "binary file":
        data.write_bytes(bytes(range(256)) * 4)
        words = ["not a readable CSV", "expected a results CSV file"]
    elif case == "empty arch cell":
        data.write_text(f"Sub-network,Top-1 Acc (%)\n,75.0\n\"{_GOOD}\",74.0\n")
        words = ["line 2", "Sub-network cell is empty"]
    elif case == "not a dict":
        data.write_text("Sub-network,Top-1 Acc (%)\n\"{'ks': [3]*20}\",75.0\n")
        words = ["line 2", "not a Python dict literal with keys 'ks'"]
    elif case == "out is a directory":
        data, out = dynast_csv, tmp_path / "p.json"
        out.mkdir()
        words = ["p.json: it is a directory"]
    elif case == "out names a directory":  # -o DIR would write DIR.json and DIR.npz beside it
        data, out = dynast_csv, tmp_path / "p"
        out.mkdir()
        words = ["p: it is a directory"]
    _one_error(invoke("predictor", "fit", "--data", data, "--kind", "ridge", "--out", out, "--folds", "0"), *words)
    assert not (tmp_path / "p.npz").exists()


def test_eval_on_few_subnets_reports_only_defined_metrics(tmp_path, dynast_csv, fitted):
    few = tmp_path / "few.csv"
    pd.read_csv(dynast_csv)[:3].to_csv(few, index=False)
    result = invoke("predictor", "eval", "--predictor", fitted, "--data", few, "--plot", tmp_path / "a.png", "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)["metrics"]
    assert metrics["n"] == 3 and "top10pct_precision" not in metrics and "kendall_tau" in metrics
    assert metrics["undefined"]["top10pct_precision"] == "needs at least 10 subnets; got 3"
    result = invoke("predictor", "eval", "--predictor", fitted, "--data", few, "--plot", tmp_path / "b.png")
    assert result.exit_code == 0, result.output
    assert "top-10% precision is not defined on this data: needs at least 10 subnets; got 3" in result.output
    assert not [line for line in result.output.splitlines() if line.lstrip("│┃ ").startswith("top-10%")]  # no row


@pytest.mark.parametrize("case", ["header only", "one subnet", "random bytes", "directory", "plot is a directory",
                                  "plot not png", "missing"])
def test_eval_bad_input(tmp_path, dynast_csv, fitted, case):
    predictor, data, plot, words = fitted, dynast_csv, tmp_path / "s.png", []
    rows = pd.read_csv(dynast_csv)
    if case == "header only":
        data = tmp_path / "empty.csv"
        rows[:0].to_csv(data, index=False)
        words = ["no rows, only a header", "at least 2"]
    elif case == "one subnet":
        data = tmp_path / "one.csv"
        rows[:1].to_csv(data, index=False)
        words = ["only 1 distinct subnet", "at least 2"]
    elif case == "random bytes":
        predictor = tmp_path / "rand.pt"
        predictor.write_bytes(np.random.default_rng(0).bytes(512))
        words = ["rand.pt is not a saved predictor", "P.json + P.npz", "nas predictor fit"]
    elif case == "directory":
        predictor = tmp_path / "pdir"
        predictor.mkdir()
        words = ["is a directory, not a saved predictor", "nas predictor fit"]
    elif case == "plot is a directory":
        plot = tmp_path / "plots"
        plot.mkdir()
        words = ["plot path", "is a directory", ".png"]
    elif case == "plot not png":
        plot = tmp_path / "s.pdf"
        words = ["must end in .png"]
    elif case == "missing":
        predictor = tmp_path / "nope"
        words = ["no predictor file", "shipped:"]
    _one_error(invoke("predictor", "eval", "--predictor", predictor, "--data", data, "--plot", plot), *words)
    assert not plot.is_file()


@pytest.mark.parametrize("scale", ["nan", "0", "-1", "inf"])
def test_import_ofa_needs_a_finite_positive_scale(tmp_path, scale):
    pth = tmp_path / "acc.pth"
    _tiny_ofa_checkpoint(pth)
    _one_error(invoke("predictor", "import-ofa", pth, "--scale", scale, "--out", tmp_path / "o"),
               "scale must be a finite number > 0")
    _no_files(tmp_path, "o")


@pytest.mark.parametrize("case, words", [
    ("truncated", ["acc.pth is not a readable torch state dict: ", "truncated or corrupt"]),
    ("empty", ["the file is empty"]),
    ("random bytes", ["truncated or not a torch checkpoint"]),
    ("whole module", ["not a state dict of tensors", "state_dict()"]),
    ("directory", ["is a directory"]),
])
def test_import_ofa_says_why_a_file_cannot_be_read(tmp_path, case, words):
    pth = tmp_path / "acc.pth"
    if case == "truncated":
        _tiny_ofa_checkpoint(pth)
        pth.write_bytes(pth.read_bytes()[:300])
    elif case == "empty":
        pth.write_bytes(b"")
    elif case == "random bytes":
        pth.write_bytes(np.random.default_rng(1).bytes(700))
    elif case == "whole module":
        torch.save(torch.nn.Sequential(torch.nn.Linear(128, 1)), pth)
    elif case == "directory":
        pth.mkdir()
    line = _one_error(invoke("predictor", "import-ofa", pth, "--out", tmp_path / "o"), *words)
    assert not line.rstrip().endswith(":")
    _no_files(tmp_path, "o")
