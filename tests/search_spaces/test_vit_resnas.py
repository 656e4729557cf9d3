"""The ViT-ResNAS spaces: counts by hand, the reference's network_def tuples, canonical ids, bad input; the
plain-reduction spaces (``-plain``) where their ops differ."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from search_spaces import FUSIONS, InvalidArchitecture, InvalidInput, get_space
from search_spaces.quantization import bit_counts
from search_spaces.vit_resnas_network_def import NetworkDefError, arch_from_network_def, network_def, network_def_text

TINY, CIFAR = get_space("vit-resnas-tiny"), get_space("vit-resnas-cifar")
TINY_PLAIN, CIFAR_PLAIN = get_space("vit-resnas-tiny-plain"), get_space("vit-resnas-cifar-plain")

# the supernet of the reference's scripts/vit-sr-nas/super_net/tiny.sh (conv patch embed: type 4)
_B1, _B2, _B3 = "(1, (256, 6, 32), (256, 768), 1)", "(1, (512, 12, 48), (512, 1536), 1)", \
    "(1, (1024, 12, 64), (1024, 3072), 1)"
SUPERNET_TINY = (f"((4, 256), {', '.join([_B1] * 6)}, (3, 256, 512), {', '.join([_B2] * 6)}, (3, 512, 1024), "
                 f"{', '.join([_B3] * 6)}, (2, 1024, 1000))")
# scripts/vit-sr-nas/searched_net/tiny.sh: removed blocks are left out (5 / 6 / 5 blocks)
SEARCHED_TINY = (
    "((4, 176), (1, (176, 3, 32), (176, 704), 1), (1, (176, 3, 32), (176, 576), 1), (1, (176, 3, 32), (176, 640), 1),"
    " (1, (176, 4, 32), (176, 576), 1), (1, (176, 4, 32), (176, 704), 1), (3, 176, 352), (1, (352, 10, 48), (352, "
    "1408), 1), (1, (352, 8, 48), (352, 1408), 1), (1, (352, 8, 48), (352, 1280), 1), (1, (352, 8, 48), (352, 1408), "
    "1), (1, (352, 10, 48), (352, 1280), 1), (1, (352, 10, 48), (352, 1024), 1), (3, 352, 704), (1, (704, 10, 64), "
    "(704, 2560), 1), (1, (704, 10, 64), (704, 1792), 1), (1, (704, 10, 64), (704, 2816), 1), (1, (704, 8, 64), (704,"
    " 2816), 1), (1, (704, 8, 64), (704, 2560), 1), (2, 704, 1000))")


# ------------------------------------------------------------------ counts by hand
def by_hand(image, patch, mid, head_dims, embeds, heads, mlps, keep, n_classes):
    """MACs and params from the spec's formulas, written out independently of the space's ops."""
    half, side, k = image // 2, image // patch, patch // 2
    macs = half * half * 3 * mid * 9 + 2 * half * half * mid * mid * 9 + side * side * mid * embeds[0] * k * k
    params = (3 * mid * 9 + 2 * mid) + 2 * (mid * mid * 9 + 2 * mid) + (mid * embeds[0] * k * k + 2 * embeds[0]
                                                                         + (side * side + 1) * embeds[0])
    for s in range(3):
        c, n = embeds[s], side * side + 1
        for j in range(6):
            if j % 2 and not keep[3 * s + j // 2]:
                continue
            a, m = heads[s][j] * head_dims[s], mlps[s][j]
            macs += n * c * 3 * a + 2 * n * n * a + n * a * c + 2 * n * c * m
            params += 2 * c + (3 * c * a + 3 * a + a * c + c) + 2 * c + (2 * c * m + m + c)
        if s < 2:
            c2, side = embeds[s + 1], side // 2
            macs += side * side * 9 * c * c2 + c * c2
            params += 9 * c * c2 + c2 + 2 * c + side * side * c2 + c * c2 + c2
    c = embeds[2]
    return macs + c * n_classes, params + 2 * c + c * n_classes + n_classes


# the plain reduction's skip (2x2 average pooling, zero padding) has no MACs or params: the same formulas
@pytest.mark.parametrize("space", [TINY, TINY_PLAIN], ids=lambda s: s.name)
def test_largest_and_smallest_tiny_counts_by_hand(space):
    largest, smallest = space.extremes()
    counts = space.count(space.encode_many([largest, smallest]))
    assert (counts["macs"][0], counts["params"][0]) == by_hand(
        224, 14, 24, (32, 48, 64), (256, 512, 1024), ((6,) * 6, (12,) * 6, (12,) * 6),
        ((768,) * 6, (1536,) * 6, (3072,) * 6), [True] * 9, 1000)
    assert (counts["macs"][1], counts["params"][1]) == by_hand(
        224, 14, 24, (32, 48, 64), (160, 320, 640), ((3,) * 6, (6,) * 6, (6,) * 6),
        ((384,) * 6, (768,) * 6, (1536,) * 6), [False] * 9, 1000)


@pytest.mark.parametrize("space", [CIFAR, CIFAR_PLAIN], ids=lambda s: s.name)
def test_a_sampled_cifar_net_by_hand_and_the_sum_over_its_layers(space, rng):
    g = space.sample(5, rng)
    counts = space.count(g)
    for arch, macs, params in zip(space.decode_many(g), counts["macs"], counts["params"]):
        hand = by_hand(32, 4, 24, (8, 12, 16), [arch[f"embed{s}"] for s in (1, 2, 3)],
                       [arch[f"heads{s}"] for s in (1, 2, 3)], [arch[f"mlp{s}"] for s in (1, 2, 3)], arch["keep"], 10)
        assert (macs, params) == hand
        for fusion in FUSIONS:
            ops = space.layers(arch, fusion)
            assert sum(op.macs for op in ops) == macs and sum(op.params for op in ops) == params


def test_extremes_are_the_most_and_fewest_macs(rng):
    largest, smallest = CIFAR.extremes()
    assert largest["keep"] == [True] * 9 and smallest["keep"] == [False] * 9
    assert largest["heads1"] == [6] * 6 and smallest["mlp3"] == [96 * 4] * 6 and smallest["embed2"] == 80
    macs = CIFAR.count(CIFAR.sample(200, rng))["macs"]
    lo, hi = CIFAR.count(CIFAR.encode_many([smallest, largest]))["macs"]
    assert lo < macs.min() and macs.max() < hi


@pytest.mark.parametrize("space", [TINY, TINY_PLAIN], ids=lambda s: s.name)
def test_op_names_and_shapes(space):
    ops = space.layers(space.extremes()[0])
    assert [op.name for op in ops[:3]] == ["patch_embed"] * 3
    assert [op.kind for op in ops[:3]] == ["conv", "resblock", "patch_embed"]
    assert ops[2].in_shape == (112, 112, 24) and ops[2].out_shape == (16, 16, 256) and ops[2].kernel == 7
    attn, ffn = ops[3], ops[4]
    assert (attn.name, attn.kind, attn.residual, [p.name for p in attn.parts]) == ("s1b0", "vit_attn", True,
                                                                                  ["norm", "attn"])
    assert (attn.parts[1].heads, attn.parts[1].mid, ffn.parts[1].mid, ffn.parts[1].act) == (6, 192, 768, "gelu")
    names = [op.name for op in ops]
    assert "reduce1" in names and names[-1] == "head" and ops[-1].out_shape == (1, 1, 1000)
    reduce2 = ops[names.index("reduce2")]
    assert reduce2.in_shape == (8, 8, 512) and reduce2.out_shape == (4, 4, 1024)
    assert reduce2.residual == (space is TINY)
    assert space.input_shape(space.extremes()[0]) == (3, 224, 224) and CIFAR.n_classes == 10


@pytest.mark.parametrize("residual, plain", [(TINY, TINY_PLAIN), (CIFAR, CIFAR_PLAIN)], ids=["tiny", "cifar"])
def test_a_plain_space_is_the_residual_one_with_plain_reductions(residual, plain, rng):
    """Same choices, archs and ids; another layout (a checkpoint of one is not the other's); the ops differ
    only at the two reductions, whose keys (what latency tables are indexed by) and work are the plain net's."""
    assert plain.choices == residual.choices and plain.size == residual.size
    assert plain.layout_signature() != residual.layout_signature() and "plain" in plain.description
    assert (residual.reduction_variant(False), plain.reduction_variant(True)) == (plain.name, residual.name)
    assert plain.reduction_variant(False) == plain.name
    genomes = residual.sample(10, rng)
    for arch in residual.decode_many(genomes):
        assert plain.arch_id(arch) == residual.arch_id(arch)
        ops, plain_ops = residual.layers(arch), plain.layers(arch)
        differ = [(a, b) for a, b in zip(ops, plain_ops, strict=True) if a != b]
        assert [(a.kind, a.residual, b.residual) for a, b in differ] == [("spatial_reduction", True, False)] * 2
        for a, b in differ:
            assert a.key.replace("-res:1-", "-res:0-") == b.key and (a.macs, a.params) == (b.macs, b.params)
            assert b.work < a.work  # no pooled skip to add
    np.testing.assert_array_equal(plain.count(genomes)["macs"], residual.count(genomes)["macs"])
    restricted = get_space(f"{residual.name}[embed1={residual.choice('embed1').options[-1]}]")
    assert restricted.reduction_variant(False) == f"{plain.name}[embed1={residual.choice('embed1').options[-1]}]"


# ------------------------------------------------------------------ network_def
def test_the_reference_supernet_tuple_round_trips():
    arch = arch_from_network_def(TINY, SUPERNET_TINY)
    assert arch == TINY.validate(TINY.extremes()[0])
    assert network_def_text(network_def(TINY, arch)) == SUPERNET_TINY
    assert TINY.arch_from_network_def(json.loads(json.dumps(TINY.network_def(arch)))) == arch  # lists too


def test_the_searched_tuple_leaves_removed_blocks_out():
    arch = TINY.arch_from_network_def(SEARCHED_TINY)
    assert arch["embed1"] == 176 and arch["keep"] == [True, True, False, True, True, True, True, True, False]
    assert arch["heads1"][:5] == [3, 3, 3, 4, 4] and arch["mlp2"][5] == 1024
    assert network_def_text(TINY.network_def(arch, compact=True)) == SEARCHED_TINY
    full = TINY.network_def(arch)
    assert len(full) == 1 + 18 + 2 + 1 and full[6] == (1, (176, 6, 32), (176, 768), 0)  # block 5 of stage 1
    assert TINY.arch_from_network_def(full) == arch


def test_exists_flags_mark_removed_blocks(rng):
    for arch in CIFAR.decode_many(CIFAR.sample(20, rng)):
        assert CIFAR.arch_from_network_def(CIFAR.network_def(arch)) == arch
        compact = CIFAR.arch_from_network_def(CIFAR.network_def(arch, compact=True))
        assert CIFAR.count(CIFAR.encode(compact)[None])["macs"] == CIFAR.count(CIFAR.encode(arch)[None])["macs"]


def test_foreign_file_round_trip(tmp_path):
    arch = TINY.arch_from_network_def(SEARCHED_TINY)
    doc = json.loads(json.dumps(TINY.arch_to_foreign(arch)))
    assert TINY.is_foreign_arch(doc) and doc["text"] == network_def_text(TINY.network_def(arch))
    assert TINY.arch_from_foreign(doc, Path("a.json")) == arch
    assert TINY.arch_from_foreign({"network_def": SEARCHED_TINY}, Path("a.json")) == arch
    with pytest.raises(InvalidInput, match="fixed 224x224 input"):
        TINY.arch_from_foreign(doc, Path("a.json"), resolution=160)


def _edit(text: str, old: str, new: str, count: int = 1) -> str:
    assert old in text
    return text.replace(old, new, count)


BAD = [
    (SUPERNET_TINY.replace("(4, 256)", "(0, 256)"), "starts with a conv patch embed \\(type 4\\)"),
    (SUPERNET_TINY.replace("(4, 256)", "(5, 256, 24)"), "flexible conv patch embed \\(type 5\\)"),
    (SUPERNET_TINY.replace("(3, 256, 512)", "(7, 256, 512)"), "unknown type code 7; known: 0 patch embed"),
    (SUPERNET_TINY.replace("(2, 1024, 1000)", "(2, 1024, 10)"),
     "the head has 10 classes; space vit-resnas-tiny has 1000"),
    (SUPERNET_TINY.replace("(1, (256, 6, 32), (256, 768), 1)", "(1, (224, 6, 32), (224, 768), 1)", 1),
     "block 0 of stage 1 has embed 224 .* stage 1 runs embed 256"),
    (SUPERNET_TINY.replace("(3, 512, 1024)", "(3, 448, 1024)"), "spatial reduction takes embed 448, but stage 2 runs"),
    (SUPERNET_TINY.replace("(256, 6, 32)", "(256, 4, 48)", 1), "head dim 48, but stage 1 .* has head dim 32"),
    (SUPERNET_TINY.replace("(256, 6, 32)", "(256, 7, 32)", 1), "heads1\\[0\\]=7 is not allowed"),
    (SUPERNET_TINY.replace(_B1 + ", (3, 256, 512)", "(1, (256, 6, 32), (256, 768), 0), (3, 256, 512)"), None),
    (_edit(SUPERNET_TINY, f"{_B1}, {_B1}, {_B1}", f"{_B1}, {_B1}, (1, (256, 6, 32), (256, 768), 0)"),
     "block 2 of stage 1 is removed \\(exists 0\\), but only blocks 1, 3, 5"),
    (_edit(SUPERNET_TINY, f"{_B1}, {_B1}", f"{_B1}, (1, (256, 6, 32), (256, 768), 2)"), "exists 0 or 1"),
    (SUPERNET_TINY.replace(", (2, 1024, 1000)", ""), "ends without the head"),
    (SUPERNET_TINY.replace("(3, 512, 1024)", "(2, 512, 1000)"), "the head after stage 2"),
    (SUPERNET_TINY.replace("(2, 1024, 1000)", "(3, 1024, 2048)"), "a spatial reduction after stage 3"),
    (SUPERNET_TINY.replace("(2, 1024, 1000))", "(2, 1024, 1000), (3, 1024, 2048))"), "after the head"),
    (SUPERNET_TINY.replace("(3, 256, 512)", f"{_B1}, (3, 256, 512)"), "stage 1 lists 7 transformer blocks"),
    (SUPERNET_TINY.replace(f"{_B1}, {_B1}, {_B1}, {_B1}, ", "", 1), "stage 1 lists 2 transformer blocks"),
    (SUPERNET_TINY.replace("(3, 256, 512)", "(4, 256)"), "a patch embedding comes only first"),
    ("__import__('os').system('true')", "is not a Python tuple literal"),
    ("((4, 256),", "is not a Python tuple literal"),
    ("42", "a network_def is a non-empty tuple"),
    (SUPERNET_TINY.replace("(4, 256)", "(4, 'x')"), "is not \\(4, embed1\\)"),
]


@pytest.mark.parametrize("text,match", BAD)
def test_bad_network_defs_say_what_is_wrong_in_one_line(text, match):
    if match is None:  # block 5 of stage 1 removed: fine
        assert TINY.arch_from_network_def(text)["keep"][:3] == [True, True, False]
        return
    with pytest.raises(NetworkDefError, match=match) as info:
        TINY.arch_from_network_def(text)
    assert "\n" not in str(info.value) and isinstance(info.value, (InvalidArchitecture, InvalidInput))


def test_a_deeply_nested_list_is_one_line():
    deep: list = []
    for _ in range(5000):  # JSON reads ~1000 levels; the list form need not come from JSON
        deep = [deep]
    with pytest.raises(NetworkDefError, match="nested too deeply") as info:
        TINY.arch_from_network_def(deep)
    assert "\n" not in str(info.value)


def test_removal_where_the_space_forbids_it():
    kept_only = get_space("vit-resnas-tiny[keep=True]")
    with pytest.raises(InvalidArchitecture, match="keep\\[2\\]=False is not allowed"):
        kept_only.arch_from_network_def(SEARCHED_TINY)
    assert kept_only.size == 5 ** 3 * (4 * 7) ** 18


# ------------------------------------------------------------------ arch dicts, ids, restrictions
def test_attention_widths_in_place_of_heads():
    largest = TINY.extremes()[0]
    widths = {k: v for k, v in largest.items() if not k.startswith("heads")} | TINY.attention_widths(largest)
    assert widths["attn2"] == [576] * 6 and TINY.validate(widths) == largest
    with pytest.raises(InvalidArchitecture, match="attn1\\[2\\]=100 is not a multiple of stage 1's head dim 32 in "
                                                  "space vit-resnas-tiny; allowed attention widths: 192, 160, 128, 96"):
        TINY.validate({**widths, "attn1": [192, 192, 100, 192, 192, 192]})
    with pytest.raises(InvalidArchitecture, match="attn1\\[0\\]=224 is not offered"):
        TINY.validate({**widths, "attn1": [224] * 6})
    with pytest.raises(InvalidArchitecture, match="both heads1 and attn1"):
        TINY.validate({**largest, "attn1": [192] * 6})


@pytest.mark.parametrize("value, got", [("abc", "got 'abc'"), (192, "got 192"), ([192] * 5, "got 5 values"),
                                        (None, "got None")])
def test_malformed_attention_widths_name_attn(value, got):
    # the shape check used to run on heads{s}'s Choice, so a bad attn1 was reported as heads1
    largest = TINY.extremes()[0]
    widths = {k: v for k, v in largest.items() if not k.startswith("heads")} | TINY.attention_widths(largest)
    with pytest.raises(InvalidArchitecture) as err:
        TINY.validate({**widths, "attn1": value})
    message = str(err.value)
    assert message.startswith("attn1 must be a list of 6 attention widths for space vit-resnas-tiny; " + got)
    assert "allowed attention widths: 192, 160, 128, 96" in message and "heads1" not in message
    assert "\n" not in message


def test_canonical_ids_ignore_removed_blocks():
    arch = CIFAR.extremes()[0]
    removed = {**arch, "keep": [True, False] + [True] * 7}
    other = {**removed, "heads1": [6, 6, 6, 3, 6, 6], "mlp1": [192, 192, 192, 96, 192, 192]}  # block 3: removed
    assert CIFAR.arch_id(removed) == CIFAR.arch_id(other) and "heads1:6,6,6,-,6,6" in CIFAR.arch_id(other)
    g = CIFAR.encode_many([removed, other])
    assert CIFAR.keys_of(g)[0] == CIFAR.keys_of(g)[1]
    assert CIFAR.canonical_arch(other) == removed
    np.testing.assert_array_equal(CIFAR.variant_index(g)[0], CIFAR.variant_index(g)[1])
    kept = {**arch, "heads1": [6, 6, 6, 3, 6, 6]}  # the same change on a block that runs
    assert CIFAR.arch_id(kept) != CIFAR.arch_id(arch)


def test_size_counts_distinct_networks():
    space = get_space("vit-resnas-cifar[embed1=64,heads1=6/5,mlp1=192,embed2=128,heads2=12,mlp2=384,"
                      "embed3=256,heads3=12,mlp3=768]")
    assert space.n_genes == 6 + 9
    genomes = np.array(list(itertools.product(*[range(int(k)) for k in space.n_options])), dtype=np.int64)
    assert len(set(k.tobytes() for k in space.keys_of(genomes))) == space.size == 2 ** 3 * 3 ** 3 * 2 ** 6


def test_restriction_by_name(rng):
    space = get_space("vit-resnas-cifar[embed1=64]")
    assert space.family == "vit-resnas-cifar" and space.n_genes == CIFAR.n_genes - 1
    archs = space.decode_many(space.sample(10, rng))
    assert all(a["embed1"] == 64 for a in archs)
    for arch in archs:
        assert [op.key for op in space.layers(arch)] == [op.key for op in CIFAR.layers(arch)]
        assert space.arch_from_network_def(space.network_def(arch)) == arch
    with pytest.raises(InvalidArchitecture, match="embed1=56 is not allowed"):
        space.arch_from_network_def(CIFAR.network_def({**archs[0], "embed1": 56}))
    assert space.extremes()[1]["embed1"] == 64


def test_quantized_overlay_covers_the_weight_matrices(rng):
    q = get_space("vit-resnas-cifar+q")
    kinds = {layer.kind for layer in q.quant_layers}
    assert kinds == {"conv", "patch_embed", "attention", "mlp", "spatial_reduction", "cls_head"}
    assert {"s1b0.attn", "s1b0.mlp", "reduce1", "head"} <= {layer.name for layer in q.quant_layers}
    base = CIFAR.sample(4, rng)
    fp32 = q.encode_many([q.with_bits(a) for a in CIFAR.decode_many(base)])
    np.testing.assert_array_equal(bit_counts(q, fp32)["bytes"], 4 * CIFAR.count(base)["params"])
    int8 = q.encode_many([q.with_bits(a, 8, 8) for a in CIFAR.decode_many(base)])
    assert np.all(bit_counts(q, int8)["bytes"] < bit_counts(q, fp32)["bytes"] / 3)
