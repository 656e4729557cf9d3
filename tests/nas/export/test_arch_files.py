"""Arch files: plain arch JSON, an exported subnet's JSON, best.json, and the space's foreign format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nas.errors import InvalidArchitecture, InvalidInput
from nas.export import read_arch_file
from search_spaces import get_space
from search_spaces.ofa_mbv3_net_config import arch_to_net_config
from tests.conftest import shared_path


def test_published_configs_read_or_explain():
    folder = shared_path("accuracy", "ofa-specialized")
    read, refused = 0, 0
    for path in sorted(folder.glob("*/net.config")):
        for space_name in ("ofa-mbv3", "ofa-mbv3-w1.2"):
            try:
                read_arch_file(path, get_space(space_name))
                read += 1
            except (InvalidInput, InvalidArchitecture) as exc:
                assert "\n" not in str(exc)
                refused += 1
    assert read >= 25 and refused > 0


def test_arch_file_forms(tmp_path):
    space = get_space("ofa-mbv3")
    arch = space.decode(np.ones(space.n_genes, dtype=np.int64))
    for i, content in enumerate([arch, {"arch": arch}, {"best": {"arch": arch}}]):
        path = tmp_path / f"a{i}.json"
        path.write_text(json.dumps(content))
        assert read_arch_file(path, space) == arch
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidInput, match="not JSON"):
        read_arch_file(tmp_path / "bad.json", space)
    with pytest.raises(InvalidInput, match="does not exist"):
        read_arch_file(tmp_path / "missing.json", space)
    (tmp_path / "n.config").write_text(json.dumps(arch_to_net_config(space, arch)))
    with pytest.raises(InvalidInput, match="--resolution"):
        read_arch_file(tmp_path / "n.config", space)
    assert read_arch_file(tmp_path / "n.config", space, resolution=arch["r"]) == space.canonical_arch(arch)


# ------------------------------------------------------------------------- hostile files (issue 17)
def _one_line(*args) -> str:
    from typer.testing import CliRunner

    from nas.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_nas_arch_on_deeply_nested_json_is_one_line(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    assert "deep.json is JSON nested too deeply to read" in _one_line("arch", tmp_path / "deep.json")


def test_a_named_pipe_as_arch_file_is_not_a_regular_file(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.json")
    line = _one_line("arch", tmp_path / "pipe.json")  # without the check, reading it blocks forever
    assert "pipe.json is not a regular file: it is a named pipe (FIFO)" in line and "does not exist" not in line


@pytest.mark.parametrize("blocks,expected", [(["a", "b"], "; blocks[0] is 'a'"), ("abc", ", not a str"),
                                             ([{}, 7], "; blocks[1] is 7")])
def test_net_config_blocks_of_the_wrong_type_are_one_line(tmp_path, blocks, expected):
    space = get_space("ofa-mbv3")
    config = arch_to_net_config(space, space.decode(np.ones(space.n_genes, dtype=np.int64)))
    (tmp_path / "net.config").write_text(json.dumps(config | {"blocks": blocks}))
    line = _one_line("arch", tmp_path / "net.config", "--space", "ofa-mbv3", "--resolution", 160)
    assert "net.config 'blocks' must be a list of block objects" + expected in line


@pytest.mark.parametrize("size", ["big", ["big"], 1.5, -3, True])
def test_run_config_image_size_of_the_wrong_type_is_one_line(tmp_path, size):
    space = get_space("ofa-mbv3")
    config = arch_to_net_config(space, space.decode(np.ones(space.n_genes, dtype=np.int64)))
    (tmp_path / "net.config").write_text(json.dumps(config))
    (tmp_path / "run.config").write_text(json.dumps({"image_size": size}))
    line = _one_line("arch", tmp_path / "net.config", "--space", "ofa-mbv3")
    assert "run.config: image_size=" in line and "is not a positive whole number of pixels" in line
