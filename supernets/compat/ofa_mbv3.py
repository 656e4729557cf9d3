"""Load once-for-all ``OFAMobileNetV3`` state dicts (and write ours in their layout).

Released checkpoints come in two key styles: the current one (``blocks.1.conv.depth_conv.conv.conv.weight``,
``...bn.bn.weight``) and the older one (``blocks.1.mobile_inverted_conv...``, single ``bn.``); both load.
"""

from __future__ import annotations

import re
from typing import Mapping

import torch

from search_spaces.errors import CheckpointError

from .keymap import KeyMap

__all__ = ["CheckpointError", "ofa_to_ours", "ours_to_ofa", "load_ofa_state_dict", "to_ofa_state_dict",
           "looks_like_ofa"]


# (once-for-all key, our key); {b} is an OFA block index >= 1, {i} = b - 1 indexes our elastic blocks
_TEMPLATES = [
    ("first_conv.conv.weight", "stem.conv.weight"),
    ("first_conv.bn.{x}", "stem.bn.{x}"),
    ("blocks.0.conv.depth_conv.conv.weight", "first_block.main.depthwise.conv.weight"),
    ("blocks.0.conv.depth_conv.bn.{x}", "first_block.main.depthwise.bn.{x}"),
    ("blocks.0.conv.point_linear.conv.weight", "first_block.main.project.conv.weight"),
    ("blocks.0.conv.point_linear.bn.{x}", "first_block.main.project.bn.{x}"),
    ("blocks.{b}.conv.inverted_bottleneck.conv.conv.weight", "blocks.{i}.expand.weight"),
    ("blocks.{b}.conv.inverted_bottleneck.bn.bn.{x}", "blocks.{i}.expand_bn.{x}"),
    ("blocks.{b}.conv.depth_conv.conv.conv.weight", "blocks.{i}.depthwise.weight"),
    ("blocks.{b}.conv.depth_conv.conv.{k}_matrix", "blocks.{i}.depthwise.kernel_transforms.{k}"),
    ("blocks.{b}.conv.depth_conv.bn.bn.{x}", "blocks.{i}.depthwise_bn.{x}"),
    ("blocks.{b}.conv.depth_conv.se.fc.reduce.{p}", "blocks.{i}.se.reduce_{p}"),
    ("blocks.{b}.conv.depth_conv.se.fc.expand.{p}", "blocks.{i}.se.expand_{p}"),
    ("blocks.{b}.conv.point_linear.conv.conv.weight", "blocks.{i}.project.weight"),
    ("blocks.{b}.conv.point_linear.bn.bn.{x}", "blocks.{i}.project_bn.{x}"),
    ("final_expand_layer.conv.weight", "final_expand.conv.weight"),
    ("final_expand_layer.bn.{x}", "final_expand.bn.{x}"),
    ("feature_mix_layer.conv.weight", "feature_mix.conv.weight"),
    ("classifier.linear.{p}", "classifier.{p}"),
]
_FIELDS = {"b": r"[1-9]\d*", "i": r"\d+", "x": r"[A-Za-z_]+", "k": r"\d+to\d+", "p": r"weight|bias"}


def _normalize_ofa_key(key: str) -> str:
    """Bring older once-for-all key styles to the current one."""
    key = key.replace(".mobile_inverted_conv.", ".conv.").replace("classifier.linear.linear.", "classifier.linear.")
    if re.match(r"^blocks\.[1-9]", key):
        key = re.sub(r"\.(inverted_bottleneck|depth_conv|point_linear)\.bn\.(?!bn\.)", r".\1.bn.bn.", key)
        key = re.sub(r"\.(inverted_bottleneck|depth_conv|point_linear)\.conv\.weight$", r".\1.conv.conv.weight", key)
    return key


KEYS = KeyMap(_TEMPLATES, _FIELDS, shift=("b", "i", -1), normalize=_normalize_ofa_key,
              describe="an OFAMobileNetV3 with ks 3/5/7, e 3/4/6, d 2/3/4")


def ofa_to_ours(key: str) -> str | None:
    return KEYS.to_ours(key)


def ours_to_ofa(key: str) -> str | None:
    return KEYS.to_theirs(key)


def looks_like_ofa(state_dict: Mapping[str, object]) -> bool:
    return any(k.startswith("first_conv.") for k in state_dict)


def load_ofa_state_dict(supernet: torch.nn.Module, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Copy a once-for-all ``OFAMobileNetV3`` state dict into ``supernet`` (strict: every key, every shape)."""
    if "state_dict" in state_dict and isinstance(state_dict["state_dict"], Mapping):
        state_dict = state_dict["state_dict"]
    KEYS.load(supernet, state_dict)


def to_ofa_state_dict(supernet: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Our supernet's weights under once-for-all's current key names."""
    return KEYS.export(supernet)
