"""Load once-for-all ``OFAMobileNetV3`` state dicts (and write ours in their layout).

Released checkpoints come in two key styles: the current one (``blocks.1.conv.depth_conv.conv.conv.weight``,
``...bn.bn.weight``) and the older one (``blocks.1.mobile_inverted_conv...``, single ``bn.``); both load.
"""

from __future__ import annotations

import re
from typing import Mapping

import torch

from search_spaces.errors import CheckpointError

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


def _compile(template: str) -> re.Pattern:
    pattern = re.escape(template)
    for name, rx in _FIELDS.items():
        pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>{rx})")
    return re.compile(f"^{pattern}$")


_FORWARD = [(_compile(ofa), ours) for ofa, ours in _TEMPLATES]
_BACKWARD = [(_compile(ours), ofa) for ofa, ours in _TEMPLATES]


def _normalize_ofa_key(key: str) -> str:
    """Bring older once-for-all key styles to the current one."""
    key = key.replace(".mobile_inverted_conv.", ".conv.").replace("classifier.linear.linear.", "classifier.linear.")
    if re.match(r"^blocks\.[1-9]", key):
        key = re.sub(r"\.(inverted_bottleneck|depth_conv|point_linear)\.bn\.(?!bn\.)", r".\1.bn.bn.", key)
        key = re.sub(r"\.(inverted_bottleneck|depth_conv|point_linear)\.conv\.weight$", r".\1.conv.conv.weight", key)
    return key


def _translate(key: str, table) -> str | None:
    for pattern, template in table:
        m = pattern.match(key)
        if m:
            fields = m.groupdict()
            if "b" in fields:
                fields["i"] = str(int(fields.pop("b")) - 1)
            elif "i" in fields:
                fields["b"] = str(int(fields.pop("i")) + 1)
            return template.format(**fields)
    return None


def ofa_to_ours(key: str) -> str | None:
    return _translate(_normalize_ofa_key(key), _FORWARD)


def ours_to_ofa(key: str) -> str | None:
    return _translate(key, _BACKWARD)


def looks_like_ofa(state_dict: Mapping[str, object]) -> bool:
    return any(k.startswith("first_conv.") for k in state_dict)


def load_ofa_state_dict(supernet: torch.nn.Module, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Copy a once-for-all ``OFAMobileNetV3`` state dict into ``supernet`` (strict: every key, every shape)."""
    if "state_dict" in state_dict and isinstance(state_dict["state_dict"], Mapping):
        state_dict = state_dict["state_dict"]
    ours = supernet.state_dict()
    mapped: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        target = ofa_to_ours(key)
        if target is None or target not in ours:
            raise CheckpointError(
                f"once-for-all key {key!r} has no place in supernet {supernet.space.name} "
                f"(is the checkpoint an OFAMobileNetV3 with ks 3/5/7, e 3/4/6, d 2/3/4?)"
            )
        if tuple(value.shape) != tuple(ours[target].shape):
            raise CheckpointError(
                f"checkpoint tensor {key} has shape {list(value.shape)} but supernet {supernet.space.name} "
                f"expects {list(ours[target].shape)}: the checkpoint was made for another space or width"
            )
        mapped[target] = value
    missing = sorted(set(ours) - set(mapped))
    if missing:
        raise CheckpointError(f"once-for-all checkpoint lacks {len(missing)} tensors, e.g. {ours_to_ofa(missing[0])}")
    supernet.load_state_dict(mapped)


def to_ofa_state_dict(supernet: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Our supernet's weights under once-for-all's current key names."""
    out = {}
    for key, value in supernet.state_dict().items():
        ofa_key = ours_to_ofa(key)
        if ofa_key is None:
            raise CheckpointError(f"supernet tensor {key!r} has no once-for-all counterpart")
        out[ofa_key] = value
    return out
