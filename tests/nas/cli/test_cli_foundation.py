"""CLI: `nas spaces`, `nas arch`, `nas export`; user mistakes give one line on stderr and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from nas.cli import app
from search_spaces import get_space

from .commands import COMMANDS

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_every_command_has_help():
    assert invoke("--help").exit_code == 0
    paths = COMMANDS
    assert {("spaces",), ("search",), ("export",), ("arch",)} <= set(paths)
    for path in paths:
        result = invoke(*path, "--help")
        assert result.exit_code == 0 and "Usage" in result.output, path


def test_spaces_json_lists_sizes():
    result = invoke("spaces", "--json")
    assert result.exit_code == 0
    info = {s["name"]: s for s in json.loads(result.stdout)}
    assert info["ofa-mbv3"]["genes"] == 46 and int(info["ofa-mbv3"]["size"]) == get_space("ofa-mbv3").size


def test_arch_reads_and_writes_net_config(tmp_path):
    space = get_space("ofa-mbv3")
    arch = space.decode(np.ones(space.n_genes, dtype=np.int64))
    (tmp_path / "a.json").write_text(json.dumps(arch))
    result = invoke("arch", str(tmp_path / "a.json"), "--net-config", str(tmp_path / "net.config"), "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["macs"] == space.count(space.encode(arch)[None])["macs"][0]
    back = invoke("arch", str(tmp_path / "net.config"), "--resolution", str(arch["r"]), "--json")
    assert json.loads(back.stdout)["arch_id"] == info["arch_id"]


def test_export_from_arch_file(tmp_path):
    space = get_space("ofa-mbv3")
    arch = {**space.decode(np.zeros(space.n_genes, dtype=np.int64)), "r": 128}
    (tmp_path / "a.json").write_text(json.dumps(arch))
    result = invoke("export", "--space", "ofa-mbv3", "--arch", str(tmp_path / "a.json"), "--out",
                    str(tmp_path / "m.pt"), "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert set(info["files"]) == {"torchscript", "json", "net.config"} and info["input_shape"] == [1, 3, 128, 128]


@pytest.mark.parametrize("args,message", [
    (["spaces", "nope"], "unknown search space 'nope'; known: "),
    (["search", "--space", "nope"], "unknown search space 'nope'"),
    (["search", "--constraint", "latency<<3"], "cannot parse constraint 'latency<<3'"),
    (["search", "--constraint", "speed<=3"], "unknown metric 'speed'"),
    (["search", "--constraint", "latency<=3kg"], "unknown unit 'kg' for latency"),
    (["export", "--out", "x.pt"], "export needs --space and --arch, or --run RUN"),
    (["export", "--out", "x.pt", "--run", "no-such-run"], "is not a search run directory"),
    (["arch", "no-such-file.json"], "does not exist"),
])
def test_user_mistakes_are_one_line_exit_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_console_script_error_contract(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nas", "spaces", "nope"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: unknown search space")


def test_unwritable_output_paths_are_one_line_errors(tmp_path):
    from typer.testing import CliRunner

    from nas.cli import app

    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    (tmp_path / "adir").mkdir()
    for out in (blocker / "sub" / "space.json", tmp_path / "adir"):  # parent is a file; target is a directory
        result = CliRunner().invoke(app, ["nni-space", "--out", str(out)])
        assert result.exit_code == 2, result.output
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "cannot access" in errors[0], result.output
    assert list((tmp_path / "adir").iterdir()) == []  # no temp file left behind


def test_export_refuses_an_output_suffix_it_would_not_write(tmp_path):
    space = get_space("ofa-mbv3")
    (tmp_path / "a.json").write_text(json.dumps(space.decode(np.ones(space.n_genes, dtype=np.int64))))
    result = invoke("export", "--space", "ofa-mbv3", "--arch", str(tmp_path / "a.json"),
                    "--out", str(tmp_path / "model.txt"))
    assert result.exit_code == 2 and "ends in .txt; name it .pt" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_a_directory_given_as_arch_file_is_named_as_such(tmp_path):
    result = invoke("arch", str(tmp_path))
    assert result.exit_code == 2 and "is a directory; expected an arch JSON" in result.output


def test_a_malformed_space_name_is_refused():
    result = invoke("spaces", "ofa-mbv3[")
    assert result.exit_code == 2 and "malformed space name 'ofa-mbv3['" in result.output


def test_export_takes_the_space_from_a_search_runs_best_json(tmp_path):
    from nas.api import search

    search("ofa-mbv3-cifar", "macs", budget=20, objectives=["macs", "params"], out=tmp_path / "run")
    result = invoke("export", "--arch", str(tmp_path / "run" / "best.json"), "--out", str(tmp_path / "s.pt"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["space"] == "ofa-mbv3-cifar"
    line = invoke("export", "--run", str(tmp_path / "run"), "--out", str(tmp_path / "t.pt"), "--resolution", "32")
    assert line.exit_code == 2 and "--resolution applies to an --arch file" in line.output
    (tmp_path / "folder").mkdir()
    line = invoke("export", "--run", str(tmp_path / "run"), "--out", str(tmp_path / "folder"))
    assert line.exit_code == 2 and "is a directory; give the subnet's file name" in line.output
    assert not list(tmp_path.glob("folder.*"))
