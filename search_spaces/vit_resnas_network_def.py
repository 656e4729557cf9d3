"""The ViT-ResNAS reference repository's ``network_def`` tuples: read them into an arch, write one for an arch.

A network_def lists the network's parts in order, each led by a type code::

    ((4, embed1),                                          conv patch embed
     (1, (embed1, heads, head_dim), (embed1, mlp), exists),  a transformer block (x6 per stage)
     (3, embed1, embed2),                                  spatial reduction between stages
     ...,
     (2, embed3, n_classes))                               head

(type codes 0 patch embed, 1 transformer, 2 head, 3 spatial reduction, 4 conv patch embed, 5 flexible
conv embed; only 4 is this space's stem). The supernet scripts list all six blocks of a stage and mark a
removed one ``exists = 0``; the searched-net scripts leave removed blocks out. Both are read: a stage of
fewer than six blocks keeps its first removable blocks (the network is the same whichever are removed).
The repository's CLI passes the tuple as text (``--network-def '((4, 256), ...)'``), parsed here with
``ast.literal_eval`` (never ``eval``).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any, Mapping

from ._space import Arch
from .errors import InvalidArchitecture, InvalidInput
from .vit_resnas import DEPTH, N_STAGES, REMOVABLE

if TYPE_CHECKING:
    from .vit_resnas import ViTResNASSpace

__all__ = ["NetworkDefError", "TYPE_CODES", "parse_network_def", "network_def", "network_def_text",
           "arch_from_network_def", "to_lists"]

TYPE_CODES = {0: "patch embed", 1: "transformer block", 2: "head", 3: "spatial reduction", 4: "conv patch embed",
              5: "flexible conv patch embed"}
_KNOWN = ", ".join(f"{k} {v}" for k, v in TYPE_CODES.items())
_BLOCK_FORM = "(1, (embed, heads, head_dim), (embed, mlp), exists)"


class NetworkDefError(InvalidArchitecture, InvalidInput):
    """A network_def that is malformed or describes a network outside the space."""


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def to_lists(value: Any) -> Any:
    """The network_def as nested lists (how JSON writes it)."""
    return [to_lists(v) for v in value] if isinstance(value, (list, tuple)) else value


def parse_network_def(value: Any) -> tuple:
    """A network_def from a tuple literal's text, or from (nested) tuples or lists, as nested tuples."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            shown = value if len(value) <= 40 else value[:37] + "..."
            raise NetworkDefError(f"network_def {shown!r} is not a Python tuple literal such as "
                                  f"'((4, 256), (1, (256, 6, 32), (256, 768), 1), ..., (2, 1024, 1000))'") from None
    if not isinstance(value, (list, tuple)) or not value:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise NetworkDefError(f"a network_def is a non-empty tuple of parts, not {type(value).__name__} {shown}")
    try:
        return _tuples(value)
    except RecursionError:
        raise NetworkDefError("a network_def is nested too deeply (its parts nest at most three levels: "
                              f"{_BLOCK_FORM})") from None


def network_def_text(nd: tuple) -> str:
    """The text the repository's ``--network-def`` takes."""
    return repr(_tuples(nd))


def network_def(space: "ViTResNASSpace", arch: Mapping[str, Any], compact: bool = False) -> tuple:
    """The network_def of ``arch``: all six blocks per stage with ``exists`` flags (the supernet scripts'
    form), or with ``compact`` only the blocks that run (the searched-net scripts' form)."""
    arch, m = space.validate(arch), space.macro
    parts: list[tuple] = [(4, arch["embed1"])]
    for s in range(1, N_STAGES + 1):
        embed, hd = arch[f"embed{s}"], m.head_dims[s - 1]
        for j in range(DEPTH):
            exists = arch["keep"][(s - 1) * len(REMOVABLE) + REMOVABLE.index(j)] if j in REMOVABLE else True
            if exists or not compact:
                parts.append((1, (embed, arch[f"heads{s}"][j], hd), (embed, arch[f"mlp{s}"][j]), int(exists)))
        parts.append((3, embed, arch[f"embed{s + 1}"]) if s < N_STAGES else (2, embed, space.n_classes))
    return tuple(parts)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _code(entry: Any, i: int) -> int:
    if not isinstance(entry, tuple) or not entry or not _int(entry[0]):
        raise NetworkDefError(f"network_def entry {i} {entry!r} is not a tuple led by a type code ({_KNOWN})")
    if entry[0] not in TYPE_CODES:
        raise NetworkDefError(f"network_def entry {i} has unknown type code {entry[0]}; known: {_KNOWN}")
    return entry[0]


def _ints(entry: tuple, i: int, n: int, form: str) -> tuple:
    if len(entry) != n or not all(_int(v) for v in entry):
        raise NetworkDefError(f"network_def entry {i} {entry!r} is not {form} (whole numbers)")
    return entry


def _block(entry: tuple, i: int) -> tuple[int, int, int, int, int, int]:
    """(attention embed, heads, head_dim, mlp embed, mlp hidden, exists) of a transformer entry."""
    ok = (len(entry) == 4 and isinstance(entry[1], tuple) and len(entry[1]) == 3 and isinstance(entry[2], tuple)
          and len(entry[2]) == 2 and all(_int(v) for v in (*entry[1], *entry[2])) and entry[3] in (0, 1))
    if not ok:
        raise NetworkDefError(f"network_def entry {i} {entry!r} is not {_BLOCK_FORM} (exists 0 or 1)")
    return (*entry[1], *entry[2], int(entry[3]))


def arch_from_network_def(space: "ViTResNASSpace", value: Any) -> Arch:
    """The arch a network_def (text or tuples) describes; a one-line ``NetworkDefError`` names the first part
    that does not fit the space."""
    nd, m = parse_network_def(value), space.macro
    codes = [_code(entry, i) for i, entry in enumerate(nd)]
    if codes[0] != 4:
        raise NetworkDefError(f"network_def entry 0 is a {TYPE_CODES[codes[0]]} (type {codes[0]}); space {space.name} "
                              f"starts with a conv patch embed (type 4): (4, embed1)")
    embed = _ints(nd[0], 0, 2, "(4, embed1)")[1]
    arch: dict[str, Any] = {"embed1": embed}
    stages: list[list[tuple[int, tuple]]] = [[]]
    done = False
    for i, (code, entry) in enumerate(zip(codes[1:], nd[1:]), start=1):
        stage = len(stages)
        if done:
            raise NetworkDefError(f"network_def entry {i} is a {TYPE_CODES[code]} after the head; the head "
                                  f"(2, embed{N_STAGES}, n_classes) comes last")
        if code == 1:
            block = _block(entry, i)
            if block[0] != embed or block[3] != embed:
                raise NetworkDefError(f"network_def entry {i}: block {len(stages[-1])} of stage {stage} has embed "
                                      f"{block[0]} (attention) / {block[3]} (mlp), but stage {stage} runs embed "
                                      f"{embed}")
            if block[2] != m.head_dims[stage - 1]:
                raise NetworkDefError(f"network_def entry {i}: head dim {block[2]}, but stage {stage} of space "
                                      f"{space.name} has head dim {m.head_dims[stage - 1]} (attention widths "
                                      f"{', '.join(map(str, m.attention_widths(stage)))})")
            stages[-1].append((i, block))
        elif code in (2, 3):
            c_in, c_out = _ints(entry, i, 3, f"({code}, in, out)")[1:]
            what = "spatial reduction" if code == 3 else "head"
            if code == 3 and stage == N_STAGES:
                raise NetworkDefError(f"network_def entry {i}: a spatial reduction after stage {N_STAGES}; space "
                                      f"{space.name} has {N_STAGES} stages ({N_STAGES - 1} reductions), then the head")
            if code == 2 and stage < N_STAGES:
                raise NetworkDefError(f"network_def entry {i}: the head after stage {stage}; space {space.name} has "
                                      f"{N_STAGES} stages ({N_STAGES - 1} spatial reductions (3, in, out) first)")
            if c_in != embed:
                raise NetworkDefError(f"network_def entry {i}: the {what} takes embed {c_in}, but stage {stage} runs "
                                      f"embed {embed}")
            if code == 2 and c_out != space.n_classes:
                raise NetworkDefError(f"network_def entry {i}: the head has {c_out} classes; space {space.name} has "
                                      f"{space.n_classes}")
            if code == 3:
                embed = arch[f"embed{stage + 1}"] = c_out
                stages.append([])
            done = code == 2
        else:
            raise NetworkDefError(f"network_def entry {i} is a {TYPE_CODES[code]} (type {code}); a patch embedding "
                                  f"comes only first")
    if not done:
        raise NetworkDefError(f"network_def ends without the head (2, embed{N_STAGES}, {space.n_classes})")
    keep: list[bool] = []
    for s, blocks in enumerate(stages, start=1):
        heads, mlp, kept = _positions(space, s, blocks)
        arch[f"heads{s}"], arch[f"mlp{s}"] = heads, mlp
        keep += kept
    arch["keep"] = keep
    try:
        return space.validate(arch)
    except InvalidArchitecture as e:  # a value the space does not offer, said as one network_def error
        raise NetworkDefError(f"network_def: {e}") from None


def _positions(space: "ViTResNASSpace", s: int, blocks: list[tuple[int, tuple]]) -> tuple[list, list, list]:
    """Heads, MLP widths and keep flags of stage ``s`` from its listed blocks (all six, or the ones that run)."""
    n, always = len(blocks), DEPTH - len(REMOVABLE)
    removed = [(i, j) for j, (i, b) in enumerate(blocks) if not b[5]]
    if n != DEPTH and (removed or not always <= n <= DEPTH):
        raise NetworkDefError(f"stage {s} lists {n} transformer blocks; space {space.name} has {DEPTH} per stage "
                              f"(all {DEPTH} with exists flags, or the {always} to {DEPTH} that run)")
    if n == DEPTH:
        positions, kept = list(range(DEPTH)), [bool(blocks[j][1][5]) for j in REMOVABLE]
        bad = next(((i, j) for i, j in removed if j not in REMOVABLE), None)
        if bad:
            raise NetworkDefError(f"network_def entry {bad[0]}: block {bad[1]} of stage {s} is removed (exists 0), "
                                  f"but only blocks {', '.join(map(str, REMOVABLE))} of a stage can be removed")
    else:  # removed blocks left out: the first n - 3 removable blocks run
        kept = [k < n - always for k in range(len(REMOVABLE))]
        positions = [j for j in range(DEPTH) if j not in REMOVABLE or kept[REMOVABLE.index(j)]]
    heads = [space.choice(f"heads{s}").options[0]] * DEPTH  # a left-out block: the first option (canonical)
    mlp = [space.choice(f"mlp{s}").options[0]] * DEPTH
    for j, (_, block) in zip(positions, blocks):
        heads[j], mlp[j] = block[1], block[4]
    return heads, mlp, kept
