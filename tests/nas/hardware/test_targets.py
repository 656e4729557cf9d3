"""Every registered target honours the contract; the cpu target profiles once and caches; names resolve."""

from __future__ import annotations

import numpy as np
import pytest

from nas.hardware import TARGETS, get_target, local, resolve_target, target_info
from nas.hardware.latency_api import targets
from search_spaces import get_space
from search_spaces.errors import InvalidInput, UnknownName

from .conftest import TINY, synthetic_table

#: the cpu-* targets of other runtimes share the cpu target's code and profile (or, cpu-aoti, fit from
#: compiled subnets) in their runtime on first use: test_runtimes covers them on a tiny space
OTHER_RUNTIMES = set(local.CPU_TARGETS) - {"cpu"}


@pytest.mark.parametrize("name", [n for n in TARGETS.names() if n not in OTHER_RUNTIMES])
def test_target_contract(name, fast_cpu, rng):
    space = get_space(TINY if name == "cpu" else "ofa-mbv3")  # the cpu target profiles what it predicts
    info = target_info(name)
    assert info["kind"] in ("analytic", "measured", "modeled", "fitted") and info["source"]
    model = get_target(name, space)
    g = space.sample(64, rng)
    values = model.predict(g)
    assert values.shape == (64,) and np.all(np.isfinite(values)) and np.all(values > 0)
    np.testing.assert_array_equal(values, model.predict(g))  # deterministic
    assert model.metadata["kind"] == info["kind"] and model.space is space


def test_cpu_target_profiles_once_then_uses_its_cache(tiny_space, fast_cpu, monkeypatch):
    model = get_target("cpu", tiny_space)
    path = local.cpu_profile_path()
    assert path.is_file() and model.metadata["table"] == str(path)
    meta = model.metadata
    assert meta["kind"] == "measured" and meta["threads"] == 1 and meta["calibration"]["subnets"] == 3
    assert meta["runtime"] == "torchscript" and meta["device"] == target_info("cpu")["device"]

    def no_profiling(*args, **kwargs):
        raise AssertionError("profiled again")

    monkeypatch.setattr(local, "profile_space", no_profiling)
    monkeypatch.setattr(local, "calibrate_table", no_profiling)
    again = get_target("cpu", tiny_space)
    x = np.zeros((1, tiny_space.n_genes), int)
    assert again.predict(x) == model.predict(x)
    assert "calibration" in target_info("cpu")


def test_unknown_names_list_the_known_ones(tiny_space, cache):
    import re

    known = ", ".join(sorted(set(TARGETS.names()) | set(TARGETS.aliases())))  # every registered one, sorted
    with pytest.raises(UnknownName, match=re.escape(f"unknown target 'jetsn' (did you mean 'jetson'?); known: {known} "
                                                    f"(or a latency table file)")):
        resolve_target("jetsn", tiny_space)
    with pytest.raises(InvalidInput, match="target file nope.csv does not exist"):
        resolve_target("nope.csv", tiny_space)


def test_table_files_and_saved_names_are_targets(tiny_space, cache, tmp_path):
    path = synthetic_table(tiny_space).save(tmp_path / "dev.parquet")
    assert resolve_target(str(path), tiny_space).name == "dev"
    local.save_named_table(synthetic_table(tiny_space), "board")
    assert resolve_target("board", tiny_space).name == "board"
    assert {"board"} <= {row["name"] for row in targets()}
    with pytest.raises(InvalidInput, match="'macs' is a built-in target"):
        local.save_named_table(synthetic_table(tiny_space), "macs")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InvalidInput, match="x.csv is not a latency table"):
        resolve_target(str(tmp_path / "x.csv"), tiny_space)
