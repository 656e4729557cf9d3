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
