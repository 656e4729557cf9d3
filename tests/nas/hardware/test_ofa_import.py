"""once-for-all's Note10 YAML tables: imported predictions equal once-for-all's own per-subnet sums, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from nas.hardware import resolve_target
from nas.hardware.model import LatencyModel
from nas.hardware.ofa_import import import_ofa_tables, parse_ofa_key
from nas.hardware.table import read_table
from search_spaces import get_space
from search_spaces.errors import InvalidInput

from ...conftest import shared_path

COVERED = "ofa-mbv3-w1.2[r=160/176/192/208/224]"


def _reference_sum(yaml_tables: dict, space, arch) -> float:
    """once-for-all's sum, rebuilt from its key scheme: Conv, every expanded_conv, Conv_1, AvgPool2D, Conv_2, Logits."""
    lay, r = space.layout(arch), arch["r"]
    lut = yaml_tables[r]
    size = (r + 1) // 2
    total = 0.0
    total += lut[f"Conv-input:{r}x{r}x3-output:{size}x{size}x{lay.stem.out_channels}"]["mean"]
    for b in lay.blocks:
        out = (size - 1) // b.stride + 1
        total += lut[f"expanded_conv-input:{size}x{size}x{b.in_channels}-output:{out}x{out}x{b.out_channels}"
                     f"-expand:{b.mid_channels}-kernel:{b.kernel_size}-stride:{b.stride}-idskip:{int(b.residual)}"
                     f"-se:{int(b.use_se)}-hs:{int(b.act == 'h_swish')}"]["mean"]
        size = out
    fe, fm, cl = lay.final_expand, lay.feature_mix, lay.classifier
    total += lut[f"Conv_1-input:{size}x{size}x{fe.in_channels}-output:{size}x{size}x{fe.out_channels}"]["mean"]
    total += lut[f"AvgPool2D-input:{size}x{size}x{fe.out_channels}-output:1x1x{fe.out_channels}"]["mean"]
    total += lut[f"Conv_2-input:1x1x{fm.in_channels}-output:1x1x{fm.out_channels}"]["mean"]
    total += lut[f"Logits-input:1x1x{cl.in_features}-output:{cl.out_features}"]["mean"]
    return total


@pytest.fixture(scope="module")
def note10():
    folder = shared_path("latency", "ofa-note10")
    tables = {r: yaml.safe_load((folder / f"note10__{r}_lookup_table.yaml").read_text()) for r in range(160, 225, 16)}
    return folder, tables


def test_imported_sums_equal_the_yaml_sums_exactly(note10, tmp_path):
    folder, yaml_tables = note10
    table = import_ofa_tables(folder, "note10")
    assert len(table) == 480 and table.metadata["spaces"] == ["ofa-mbv3-w1.2"]
    assert table.metadata["resolutions"] == [160, 176, 192, 208, 224]
    saved = read_table(table.save(tmp_path / "note10.csv"))  # the CSV keeps every bit
    space = get_space(COVERED)
    genomes = np.concatenate([space.sample(3000, np.random.default_rng(0)), np.zeros((1, space.n_genes), int),
                              space.n_options[None] - 1])
    expected = np.array([_reference_sum(yaml_tables, space, a) for a in space.decode_many(genomes)])
    for t in (table, saved):
        np.testing.assert_array_equal(LatencyModel(t, space).predict(genomes), expected)


def test_resolutions_without_a_table_raise_naming_the_op(note10):
    table = import_ofa_tables(note10[0], "note10")
    with pytest.raises(InvalidInput, match=r"no entry for op conv-in:164x164x3\S* .*it covers "
                                           r"ofa-mbv3-w1.2\[r=160/176/192/208/224\]: search that space"):
        LatencyModel(table, get_space("ofa-mbv3-w1.2"))
    assert LatencyModel.covering(table, get_space("ofa-mbv3-w1.2")).space.name == COVERED


def test_saved_by_name_is_a_target(note10, cache):
    from nas.hardware.latency_api import import_ofa

    result = import_ofa(note10[0], "note10")
    assert result["written"] == [str(cache / "targets" / "note10.csv")]
    model = resolve_target("note10", get_space(COVERED))
    assert model.name == "note10" and model.metadata["kind"] == "measured"
    assert 5 < model.predict(np.zeros((1, model.space.n_genes), int))[0] < 100  # smallest subnet, ms on a phone


def test_foreign_keys_and_folders_are_refused(note10, tmp_path):
    with pytest.raises(InvalidInput, match="not a once-for-all MobileNetV3 lookup-table key"):
        parse_ofa_key("Logits-input:7x7x1280-output:1000")  # ProxylessNAS's scheme
    with pytest.raises(InvalidInput, match="no once-for-all lookup tables"):
        import_ofa_tables(tmp_path, "x")
    (tmp_path / "dev__160_lookup_table.yaml").write_text("a: [1\n")
    with pytest.raises(InvalidInput, match="is not valid YAML"):
        import_ofa_tables(tmp_path, "x")
