"""The ``S+q`` overlay: per-layer bits over any structured space (search_spaces.quantization)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from search_spaces import InvalidArchitecture, InvalidInput, NasError, QuantizedSpace, get_space, list_spaces
from search_spaces.errors import UnknownName
from search_spaces.quantization import InvalidBits, bit_counts

SMALL = "ofa-mbv3-cifar-small+q"
R20 = "resnet20-pooling+q"


@pytest.fixture
def small() -> QuantizedSpace:
    return get_space(SMALL)


@pytest.fixture
def r20() -> QuantizedSpace:
    return get_space(R20)


def bits(space, wbits=32, abits=32, wmode="symmetric"):
    n = len(space.quant_layers)
    return {"wbits": [wbits] * n, "abits": [abits] * n, "wmode": [wmode] * n}


# ------------------------------------------------------------------ layout
def test_every_structured_space_has_an_overlay():
    names = list_spaces(overlays=True)
    for base in ("ofa-mbv3", "ofa-mbv3-cifar-small", "resnet20-pooling", "ofa-resnet50"):
        assert f"{base}+q" in names
        space = get_space(f"{base}+q")
        assert space.family == f"{base}+q" and space.base is get_space(base)
    assert "nas-bench-201+q" not in names  # declares no structure
    assert list_spaces() == [n for n in names if "+" not in n]  # the plain list is unchanged


def test_positions_come_from_the_structure(small, r20):
    names = [layer.name for layer in r20.quant_layers]
    assert names[0] == "stem" and names[-1] == "classifier" and len(names) == 1 + 9 * 2 + 2 + 1
    assert "layer4.shortcut" in names and "layer1.shortcut" not in names  # only where the width changes
    assert not any("pool" in n for n in names)  # pooling has no bits
    kinds = {layer.kind for layer in small.quant_layers}
    assert kinds == {"conv", "dwconv", "se", "linear"}
    # every possible block position has its convs, whether or not a subnet runs it
    assert {f"blocks.19.{p}" for p in ("expand", "depthwise", "se", "project")} <= {x.name for x in small.quant_layers}
    base = small.base
    assert small.n_genes == base.n_genes + 3 * len(small.quant_layers)
    assert small.keys == (*base.keys, "wbits", "abits", "wmode")
    assert [c.options for c in small.choices[-3:]] == [(4, 8, 32), (8, 32), ("symmetric", "asymmetric")]


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("name", [SMALL, R20, "ofa-resnet50+q"])
def test_round_trips(name, rng):
    space = get_space(name)
    genomes = space.sample(32, rng)
    archs = space.decode_many(genomes)
    base_archs = space.base.decode_many(genomes[:, :space.base.n_genes])
    for arch, base_arch, genome in zip(archs, base_archs, genomes):
        assert {k: v for k, v in arch.items() if k not in ("wbits", "abits", "wmode")} == base_arch
        assert all(len(arch[k]) == len(space.quant_layers) for k in ("wbits", "abits", "wmode"))
        assert json.loads(json.dumps(arch)) == arch
        np.testing.assert_array_equal(space.encode(arch), genome)
        assert space.arch_id(arch) == space.arch_ids(genome[None])[0]
        assert space.arch_id(space.canonical_arch(arch)) == space.arch_id(arch)
    ids = space.arch_ids(genomes)
    base_ids = space.base.arch_ids(genomes[:, :space.base.n_genes])
    assert all(i.startswith(b + "|wbits:") for i, b in zip(ids, base_ids))  # an S+q id extends the S id


def test_with_bits_makes_a_uniform_policy(r20):
    arch = r20.with_bits({"pool": [4, 3, 3]}, 8, 8)
    assert set(arch["wbits"]) == {8} and set(arch["abits"]) == {8} and set(arch["wmode"]) == {"symmetric"}


# ------------------------------------------------------------------ canonicalization
def test_bits_of_layers_not_run_are_canonicalized_away(small):
    arch = small.decode(np.zeros(small.n_genes, dtype=np.int64))  # depth 2 everywhere: blocks 2, 3 of a stage idle
    assert arch["d"][0] == 2
    idle = [i for i, layer in enumerate(small.quant_layers) if layer.name.startswith("blocks.3.")]
    run = [i for i, layer in enumerate(small.quant_layers) if layer.name.startswith("blocks.0.")]
    other = {**arch, "wbits": list(arch["wbits"]), "abits": list(arch["abits"])}
    for i in idle:
        other["wbits"][i], other["abits"][i] = 8, 32
    g1, g2 = small.encode(arch), small.encode(other)
    assert not np.array_equal(g1, g2)
    assert small.arch_id(arch) == small.arch_id(other)
    assert small.keys_of(np.stack([g1, g2]))[0] == small.keys_of(np.stack([g1, g2]))[1]
    np.testing.assert_array_equal(small.features(g1[None]), small.features(g2[None]))
    mask = small.active_mask(g1[None])[0]
    wb = small.gene_slices["wbits"]
    assert not mask[wb][idle].any() and mask[wb][run].all()
    canon = small.canonical_arch(other)
    assert all(canon["wbits"][i] == 32 and canon["abits"][i] == 32 for i in idle)  # a layer not run: fp32
    # bits of a layer that runs do change the network
    changed = {**arch, "wbits": list(arch["wbits"])}
    changed["wbits"][run[0]] = 8
    assert small.arch_id(changed) != small.arch_id(arch)


def test_weight_mode_of_fp32_weights_is_inactive(r20):
    a = {"pool": [4, 3, 3], **bits(r20, 32, 8, "symmetric")}
    b = {**a, "wmode": ["asymmetric"] * len(r20.quant_layers)}
    assert r20.arch_id(a) == r20.arch_id(b)
    c = {**a, "wbits": [8] * len(r20.quant_layers)}
    d = {**c, "wmode": b["wmode"]}
    assert r20.arch_id(c) != r20.arch_id(d)


# ------------------------------------------------------------------ restrictions
def test_restrictions_compose(small, rng):
    int8 = get_space(f"{SMALL}[wbits=8]")
    assert "wbits" not in int8.gene_slices and int8.n_genes == small.n_genes - len(small.quant_layers)
    assert all(set(a["wbits"]) == {8} for a in int8.decode_many(int8.sample(5, rng)))
    both = get_space("ofa-mbv3-cifar-small[r=32]+q[wbits=8,abits=8]")
    assert both.name == "ofa-mbv3-cifar-small+q[r=32,wbits=8,abits=8]"
    assert both is get_space(both.name)
    assert get_space("ofa-mbv3-cifar-small[r=32]+q") is get_space("ofa-mbv3-cifar-small+q[r=32]")
    assert both.base.name == "ofa-mbv3-cifar-small[r=32]" and both.quant_layers == small.quant_layers
    assert small.restrict(r=[32], wbits=[8], abits=[8]).name == both.name
    g = both.sample(20, rng)
    wide = both.genomes_in(small, g)  # a restriction's genomes in the full space's encoding
    assert both.arch_ids(g) == small.arch_ids(wide)
    assert small.intersect(both).name == both.name


def test_fixed_bits_size_is_the_base_size(r20):
    assert get_space(f"{R20}[wbits=8,abits=8,wmode=symmetric]").size == r20.base.size == 36
    assert get_space(f"{R20}[wbits=32]").size == 36 * 2 ** 22  # abits free on every layer
    assert r20.size == 36 * ((2 * 2 + 1) * 2) ** 22


# ------------------------------------------------------------------ bad input
def test_a_bit_width_not_offered(r20):
    arch = {"pool": [4, 3, 3], **bits(r20)}
    arch["wbits"] = [6] + arch["wbits"][1:]
    with pytest.raises(InvalidInput, match=r"wbits\[0\]=6 \(stem\) is not offered .*weight bit widths: 4, 8, 32"):
        r20.validate(arch)
    with pytest.raises(InvalidArchitecture):  # one class for both kinds of callers
        r20.validate({**arch, "wbits": bits(r20)["wbits"], "abits": [4] * len(r20.quant_layers)})
    with pytest.raises(InvalidInput, match="wmode"):
        r20.validate({**arch, "wbits": bits(r20)["wbits"], "wmode": ["signed"] * len(r20.quant_layers)})
    with pytest.raises(InvalidInput, match=r"wbits=6 in .* allowed values: 4, 8, 32"):
        get_space(f"{R20}[wbits=6]")
    with pytest.raises(InvalidInput, match="weight bit widths offered by .*: 4, 8, 32"):
        r20.restrict(wbits=[16])
    with pytest.raises(InvalidInput, match="unknown key 'wbit'"):
        get_space(f"{R20}[wbit=8]")


def test_wrong_length_and_missing_bits(r20):
    n = len(r20.quant_layers)
    arch = {"pool": [4, 3, 3], **bits(r20)}
    message = f"wbits has {n - 1} values; space {R20} has {n} quantizable layers"
    with pytest.raises(InvalidBits, match=re.escape(message)):
        r20.validate({**arch, "wbits": arch["wbits"][1:]})
    with pytest.raises(InvalidBits, match="abits must be a list"):
        r20.validate({**arch, "abits": 8})
    with pytest.raises(InvalidBits, match="missing key 'wmode'"):
        r20.validate({k: v for k, v in arch.items() if k != "wmode"})


def test_overlay_of_an_overlay_and_spaces_without_structure():
    with pytest.raises(InvalidInput, match=r"overlays an overlay.*'ofa-mbv3\+q'"):
        get_space("ofa-mbv3+q+q")
    with pytest.raises(InvalidInput, match="overlays an overlay"):
        get_space("ofa-mbv3+q[r=224]+q")
    with pytest.raises(InvalidInput, match="overlay of an overlay"):
        QuantizedSpace(get_space("ofa-mbv3+q"))
    with pytest.raises(InvalidInput, match="nas-bench-201 declares none .*structured spaces: .*ofa-mbv3"):
        get_space("nas-bench-201+q")
    with pytest.raises(UnknownName, match="unknown space overlay 'z'"):
        get_space("ofa-mbv3+z")
    with pytest.raises(NasError, match="malformed space name"):
        get_space("ofa-mbv3[r=224]q")


def test_the_cli_says_it_in_one_line_with_exit_code_2():
    from typer.testing import CliRunner

    from nas.cli import app

    for name, message in (("ofa-mbv3+q+q", "overlays an overlay"), ("nas-bench-201+q", "declares none"),
                          (f"{R20}[wbits=6]", "allowed values: 4, 8, 32")):
        result = CliRunner().invoke(app, ["spaces", name])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(app, ["spaces", f"{R20}[wbits=8]", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)[0]["name"] == f"{R20}[wbits=8]"


# ------------------------------------------------------------------ counting
def _r20_layers(placement=(4, 3, 3)):
    """By hand, ResNet20 with pools before layers 4 and 7: (name, weights, other params, out channels, MACs)."""
    widths = (16, 16, 16, 16, 32, 32, 32, 64, 64, 64)
    pools = (placement[0], placement[0] + placement[1])
    rows = [("stem", 3 * 16 * 9, 2 * 16, 16, 3 * 16 * 9 * 32 * 32)]
    for layer in range(1, 10):
        size = 32 >> sum(p <= layer for p in pools)
        cin, cout = widths[layer - 1], widths[layer]
        if cin != cout:
            rows.append((f"layer{layer}.shortcut", cin * cout, 2 * cout, cout, cin * cout * size * size))
        rows.append((f"layer{layer}.conv1", cin * cout * 9, 2 * cout, cout, cin * cout * 9 * size * size))
        rows.append((f"layer{layer}.conv2", cout * cout * 9, 2 * cout, cout, cout * cout * 9 * size * size))
    rows.append(("classifier", 64 * 10, 10, 10, 64 * 10))
    return rows


def test_size_and_bitops_by_hand(r20):
    rows = _r20_layers()
    assert [r[0] for r in rows] == [layer.name for layer in r20.quant_layers]
    n = len(rows)
    wbits = [4 if i % 3 == 0 else 8 if i % 3 == 1 else 32 for i in range(n)]
    abits = [8 if i % 2 else 32 for i in range(n)]
    wmode = ["asymmetric" if i % 4 == 0 else "symmetric" for i in range(n)]
    arch = {"pool": [4, 3, 3], "wbits": wbits, "abits": abits, "wmode": wmode}
    expected_bytes = expected_bitops = 0
    for (_, weights, other, channels, macs), wb, ab, mode in zip(rows, wbits, abits, wmode):
        if wb == 32:
            expected_bytes += 4 * (weights + other)
        else:
            expected_bytes += -(-weights * wb // 8) + 4 * other + channels * (4 + (4 if mode == "asymmetric" else 0))
        expected_bytes += 8 if ab < 32 else 0  # the input's fp32 scale and int32 zero point
        expected_bitops += macs * wb * ab
    counts = r20.bit_counts(r20.encode(arch)[None])
    assert int(counts["bytes"][0]) == expected_bytes and int(counts["bitops"][0]) == expected_bitops
    # one layer, in numbers: the stem at 4-bit asymmetric weights and 8-bit inputs
    stem = {**arch, "wbits": [4] + [32] * (n - 1), "abits": [8] + [32] * (n - 1)}
    fp32 = {**arch, **bits(r20)}
    delta = r20.bit_counts(r20.encode_many([stem, fp32]))["bytes"]
    assert delta[0] - delta[1] == (216 + 4 * 32 + 16 * 8 + 8) - 4 * (432 + 32)


def test_fp32_counts_are_the_base_counts(rng):
    for name in (SMALL, R20, "ofa-resnet50+q"):
        space = get_space(name)
        g = space.sample(50, rng)
        counts = space.count(g)
        fp32 = space.encode_many([{**a, **bits(space, 32, 32)} for a in space.decode_many(g)])
        full = space.bit_counts(fp32)
        np.testing.assert_array_equal(full["bytes"], 4 * counts["params"])
        np.testing.assert_array_equal(full["bitops"], 1024 * counts["macs"])
        np.testing.assert_array_equal(space.count(fp32)["macs"], space.base.count(g[:, :space.base.n_genes])["macs"])
        base = bit_counts(space.base, g[:, :space.base.n_genes])
        np.testing.assert_array_equal(base["bytes"], full["bytes"])
        # vectorized = one at a time; fewer bits never cost more
        rows = [space.bit_counts(x[None]) for x in g[:5]]
        assert [int(r["bytes"][0]) for r in rows] == space.bit_counts(g[:5])["bytes"].tolist()
        assert np.all(space.bit_counts(g)["bytes"] <= full["bytes"])


def test_size_and_bitops_are_targets(small, rng):
    from nas.hardware import get_target

    g = small.sample(10, rng)
    counts = small.bit_counts(g)
    np.testing.assert_allclose(get_target("size", small).predict(g), counts["bytes"] / 1e6)
    np.testing.assert_allclose(get_target("bitops", small).predict(g), counts["bitops"])
    base = small.base
    gb = base.sample(10, rng)
    np.testing.assert_allclose(get_target("size", base).predict(gb), 4 * base.count(gb)["params"] / 1e6)
    np.testing.assert_allclose(get_target("bitops", base).predict(gb), 1024 * base.count(gb)["macs"])
    with pytest.raises(NasError, match="no params/MACs model"):
        get_target("bitops", get_space("nas-bench-201"))


# ------------------------------------------------------------------ structure and ops
def test_layers_carry_the_bits(r20):
    n = len(r20.quant_layers)
    arch = {"pool": [4, 3, 3], "wbits": [8] * (n - 1) + [32], "abits": [8] * n, "wmode": ["asymmetric"] * n}
    block = r20.layers(arch)
    assert [op.kind for op in block][:2] == ["conv", "basicblock"]
    assert block[0].wbits == 8 and block[0].abits == 8 and block[0].wmode == "asymmetric"
    assert all(p.wbits == 8 for p in block[1].parts)
    layers = r20.layers(arch, "layer")
    assert [op.name for op in layers if op.quantizable] == [x.name.split(".")[-1] for x in r20.quant_layers]
    classifier = layers[-1]
    assert classifier.kind == "linear" and classifier.wbits == 32 and classifier.wmode == ""
    assert {op.wbits for op in layers if not op.quantizable} == {32}  # maxpool, pool
    spec = block[0].as_spec()
    assert (spec["wbits"], spec["abits"], spec["wmode"]) == (8, 8, "asymmetric")
    assert "wbits" not in r20.base.layers({"pool": [4, 3, 3]})[0].as_spec()  # fp32 specs as before
    # asymmetric weights run fp32 kernels (oneDNN's int8 takes symmetric ones): the base's op keys
    assert not any(op.precision for op in layers)
    assert [op.key for op in layers] == [op.key for op in r20.base.layers({"pool": [4, 3, 3]}, "layer")]


def test_int8_layers_have_their_own_keys(r20, rng):
    n = len(r20.quant_layers)
    base = {"pool": [4, 3, 3]}
    arch = {**base, "wbits": [8] * (n - 1) + [4], "abits": [8] * n, "wmode": ["symmetric"] * n}
    layers, fp32 = r20.layers(arch, "layer"), r20.base.layers(base, "layer")
    assert [op.precision for op in layers if op.quantizable] == ["int8"] * (n - 1) + [""]  # 4-bit: simulated
    assert [op.key for op in layers] == [b.key + ("-prec:int8" if op.precision else "") for op, b in zip(layers, fp32)]
    assert r20.layers(arch)[1].precision == "int8,int8"  # a block's key says which of its layers run int8
    # the structure gather gives the ops layers() lists, for random bits too
    g = np.concatenate([r20.encode(arch)[None], r20.sample(20, rng)])
    index, structure = r20.variant_index(g), r20.structure("layer")
    for row, genome in zip(index, g):
        gathered = [op.key for slot, v in zip(structure.slots, row) if v >= 0 for op in slot.variants[v].ops]
        assert gathered == [op.key for op in r20.layers(r20.decode(genome), "layer")]
    # an fp32 subnet runs the base's variants; a restriction without int8 leaves the base's structure
    fp32_genome = r20.encode(r20.with_bits(base))[None]
    assert r20.structure("layer").slots[1].variants[int(r20.variant_index(fp32_genome)[0, 1])].ops == \
        r20.base.structure("layer").slots[1].variants[int(r20.base.variant_index(fp32_genome[:, :1])[0, 1])].ops
    no_int8 = r20.restrict(wmode=("asymmetric",))
    assert no_int8.structure().n_variants == r20.base.structure().n_variants
    g = no_int8.encode(no_int8.with_bits(base, 8, 8, "asymmetric"))[None]
    np.testing.assert_array_equal(no_int8.variant_index(g), r20.base.variant_index(g[:, :1]))


def test_features_extend_the_base_features(small, rng):
    g = small.sample(8, rng)
    for kind in small.feature_kinds():
        base = small.base.features(g[:, :small.base.n_genes], kind)
        X = small.features(g, kind)
        assert X.shape[0] == 8 and X.shape[1] > base.shape[1]
        np.testing.assert_array_equal(X[:, :base.shape[1]], base)


def test_the_size_objective_of_a_search_counts_the_bits():
    from nas.search.objectives import size_objective

    space, base = get_space("resnet20-pooling+q"), get_space("resnet20-pooling")
    genomes = space.sample(4, np.random.default_rng(0))
    size = size_objective(space)
    assert size.source == "weights at their bits + scales"
    np.testing.assert_allclose(size(genomes), bit_counts(space, genomes)["bytes"] / 1e6)
    archs = [space.decode(g) for g in genomes]
    eight = space.encode_many([space.with_bits(a, 8, 8) for a in archs])
    fp32 = size_objective(base)(base.encode_many([{k: a[k] for k in base.keys} for a in archs]))
    assert (size(eight) < fp32 / 3).all()  # 8-bit weights: about a quarter of fp32 (BN and scales stay fp32)
