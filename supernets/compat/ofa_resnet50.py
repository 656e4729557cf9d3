"""Load once-for-all ``OFAResNets`` state dicts (and write ours in their layout).

once-for-all names its modules ``input_stem.{0,1,2}``, ``blocks.{i}.conv{1,2,3}`` / ``downsample`` and
``classifier.linear``, with the inner modules of its dynamic layers doubled (``conv.conv.weight``,
``bn.bn.weight``); released checkpoints drop the doubling (``conv.weight``, ``bn.weight``), and both load.
"""

from __future__ import annotations

from typing import Mapping

import torch

from .keymap import KeyMap

__all__ = ["ofa_to_ours", "ours_to_ofa", "load_ofa_resnet_state_dict", "to_ofa_resnet_state_dict",
           "looks_like_ofa_resnet"]

# (once-for-all key, our key); {x} a BN field, {p} weight or bias, {b} a block index
_TEMPLATES = [
    ("input_stem.0.conv.conv.weight", "stem.conv.weight"),
    ("input_stem.0.bn.bn.{x}", "stem.bn.{x}"),
    ("input_stem.1.conv.conv.conv.weight", "stem_block.conv.weight"),
    ("input_stem.1.conv.bn.bn.{x}", "stem_block.bn.{x}"),
    ("input_stem.2.conv.conv.weight", "stem_out.conv.weight"),
    ("input_stem.2.bn.bn.{x}", "stem_out.bn.{x}"),
    ("blocks.{b}.{c}.conv.conv.weight", "blocks.{b}.{c}.conv.weight"),
    ("blocks.{b}.{c}.bn.bn.{x}", "blocks.{b}.{c}.bn.{x}"),
    ("classifier.linear.linear.{p}", "classifier.linear.{p}"),
]
_FIELDS = {"b": r"\d+", "c": r"conv1|conv2|conv3|downsample", "x": r"[A-Za-z_]+", "p": r"weight|bias"}


def _full_key(key: str) -> str:
    """A released checkpoint's key in the doubled form (``OFAResNets.load_state_dict``'s own rewriting)."""
    if any(p.match(key) for p, _ in KEYS.forward):
        return key
    if ".linear." in key:
        return key.replace(".linear.", ".linear.linear.")
    if "bn." in key:
        return key.replace("bn.", "bn.bn.")
    return key.replace("conv.weight", "conv.conv.weight")


KEYS = KeyMap(_TEMPLATES, _FIELDS, normalize=_full_key,
              describe="an OFAResNets with d 0/1/2, e 0.2/0.25/0.35, w 0.65/0.8/1.0")


def ofa_to_ours(key: str) -> str | None:
    return KEYS.to_ours(key)


def ours_to_ofa(key: str) -> str | None:
    return KEYS.to_theirs(key)


def looks_like_ofa_resnet(state: Mapping[str, object]) -> bool:
    return any(k.startswith("input_stem.") for k in state)


def load_ofa_resnet_state_dict(supernet: torch.nn.Module, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Copy a once-for-all ``OFAResNets`` state dict into ``supernet`` (strict: every key, every shape)."""
    KEYS.load(supernet, state_dict)


def to_ofa_resnet_state_dict(supernet: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Our supernet's weights under once-for-all's (doubled) key names."""
    return KEYS.export(supernet)
