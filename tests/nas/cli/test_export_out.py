"""``nas export --out`` into a folder that does not exist is refused, not created silently."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from nas.cli import app
from search_spaces import get_space


def test_export_into_a_missing_folder_is_one_line_and_creates_nothing(tmp_path):
    space = get_space("ofa-mbv3")
    (tmp_path / "a.json").write_text(json.dumps({**space.decode(np.zeros(space.n_genes, dtype=np.int64)), "r": 128}))
    out = tmp_path / "no" / "such" / "dir" / "e.pt"
    result = CliRunner().invoke(app, ["export", "--space", "ofa-mbv3", "--arch", str(tmp_path / "a.json"),
                                      "--out", str(out)])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and lines == [f"error: --out {out}: folder {out.parent} does not exist; "
                                               "create it first"], result.output
    assert not (tmp_path / "no").exists()
