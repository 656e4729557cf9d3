"""once-for-all ``net.config`` files: write one for a subnet, and read one back into an arch.

We write the layout of the published specialized subnets (``MobileInvertedResidualBlock`` /
``mobile_inverted_conv`` / ``MBInvertedConvLayer``), which every once-for-all version loads; we read
both that and the newer ``ResidualBlock`` / ``conv`` / ``MBConvLayer`` names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ._space import Arch
from .checks import read_json_file
from .errors import InvalidInput
from .mobilenet_v3_layout import ConvSpec, MBConvSpec

if TYPE_CHECKING:
    from .ofa_mbv3 import OFAMobileNetV3Space

__all__ = ["arch_to_net_config", "net_config_to_arch", "read_net_config", "is_net_config"]

def _conv(spec: ConvSpec) -> dict:
    return {
        "name": "ConvLayer", "kernel_size": spec.kernel_size, "stride": spec.stride, "dilation": 1, "groups": 1,
        "bias": False, "has_shuffle": False, "in_channels": spec.in_channels, "out_channels": spec.out_channels,
        "use_bn": spec.use_bn, "act_func": spec.act, "dropout_rate": 0, "ops_order": "weight_bn_act",
    }


def _block(spec: MBConvSpec) -> dict:
    conv = {
        "name": "MBInvertedConvLayer", "in_channels": spec.in_channels, "out_channels": spec.out_channels,
        "kernel_size": spec.kernel_size, "stride": spec.stride, "expand_ratio": spec.expand_ratio,
        "mid_channels": spec.mid_channels if spec.has_expand else None, "act_func": spec.act,
        "use_se": spec.use_se,
    }
    shortcut = None
    if spec.residual:
        shortcut = {"name": "IdentityLayer", "in_channels": [spec.in_channels], "out_channels": [spec.out_channels],
                    "use_bn": False, "act_func": None, "dropout_rate": 0, "ops_order": "weight_bn_act"}
    return {"name": "MobileInvertedResidualBlock", "mobile_inverted_conv": conv, "shortcut": shortcut}


def arch_to_net_config(space: "OFAMobileNetV3Space", arch: Mapping[str, Any]) -> dict:
    """once-for-all's ``MobileNetV3`` config of the subnet ``arch`` (resolution goes to ``run.config``)."""
    layout = space.layout(arch)
    c = layout.classifier
    return {
        "name": "MobileNetV3",
        "bn": {"momentum": layout.bn_momentum, "eps": layout.bn_eps},
        "first_conv": _conv(layout.stem),
        "blocks": [_block(b) for b in layout.blocks],
        "final_expand_layer": _conv(layout.final_expand),
        "feature_mix_layer": _conv(layout.feature_mix),
        "classifier": {"name": "LinearLayer", "in_features": c.in_features, "out_features": c.out_features,
                       "bias": True, "use_bn": False, "act_func": None, "dropout_rate": c.dropout,
                       "ops_order": "weight_bn_act"},
    }


def is_net_config(obj: Any) -> bool:
    return isinstance(obj, dict) and "blocks" in obj and "first_conv" in obj


def read_net_config(path: str | Path) -> tuple[dict, int | None]:
    """Load ``net.config`` and, when a ``run.config`` sits beside it, its ``image_size``."""
    path = Path(path)
    return read_json_file(path, "net.config"), run_config_image_size(path)


def run_config_image_size(path: Path) -> int | None:
    """The ``image_size`` of the ``run.config`` beside a net.config (None without one)."""
    run = path.with_name("run.config")
    if not run.is_file():
        return None
    doc = read_json_file(run, "run.config")
    size = doc.get("image_size") if isinstance(doc, dict) else None
    if isinstance(size, list) and size:
        size = size[0]
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InvalidInput(f"{run}: image_size={size!r} is not a positive whole number of pixels")
    return size


def net_config_to_arch(space: "OFAMobileNetV3Space", config: Mapping[str, Any], resolution: int) -> Arch:
    """Recover the arch of a once-for-all ``MobileNetV3`` net.config; every layer is checked against the space."""
    if config.get("name") != "MobileNetV3":
        raise InvalidInput(f"net.config describes a {config.get('name')!r}; "
                           f"space {space.name} holds MobileNetV3 subnets")
    blocks = config.get("blocks") or []
    if not isinstance(blocks, list):
        raise InvalidInput(f"net.config 'blocks' must be a list of block objects, not a {type(blocks).__name__}")
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            shown = repr(block) if len(repr(block)) <= 40 else repr(block)[:37] + "..."
            raise InvalidInput(f"net.config 'blocks' must be a list of block objects; blocks[{i}] is {shown}")
    for part in ("first_conv", "final_expand_layer", "feature_mix_layer", "classifier"):
        if not isinstance(config.get(part, {}), dict):
            raise InvalidInput(f"net.config '{part}' must be an object, not {type(config[part]).__name__}")
    macro = space.macro
    stage_of_width = {w: s for s, w in enumerate(macro.stage_widths)}
    ks = [space.choice("ks").options[0]] * macro.n_blocks
    e = [space.choice("e").options[0]] * macro.n_blocks
    depth = [0] * macro.n_stages
    for i, block in enumerate(blocks[1:], start=1):
        conv = block.get("mobile_inverted_conv") or block.get("conv") or {}
        if not isinstance(conv, dict):
            raise InvalidInput(f"net.config block {i} has no layer object (mobile_inverted_conv or conv)")
        width = conv.get("out_channels")
        # a list or object here would be unhashable: only a whole number can name a stage
        stage = stage_of_width.get(width) if isinstance(width, int) and not isinstance(width, bool) else None
        if stage is None:
            raise InvalidInput(
                f"net.config block {i} has {conv.get('out_channels')} output channels; space {space.name} "
                f"has stage widths {list(macro.stage_widths)} (is it for another width multiplier?)"
            )
        if depth[stage] >= macro.max_depth:
            raise InvalidInput(f"net.config has more than {macro.max_depth} blocks in stage {stage + 1}")
        pos = stage * macro.max_depth + depth[stage]
        ks[pos], e[pos] = conv.get("kernel_size"), conv.get("expand_ratio")
        depth[stage] += 1
    arch = space.validate({"ks": ks, "e": e, "d": depth, "r": resolution})
    expected = arch_to_net_config(space, arch)
    _compare(expected, config, space)
    return arch


def _compare(expected: Mapping, actual: Mapping, space: "OFAMobileNetV3Space") -> None:
    """Raise naming the first field where ``actual`` differs from what ``space`` would build."""
    checks = [("first_conv", expected["first_conv"], actual.get("first_conv", {})),
              ("final_expand_layer", expected["final_expand_layer"], actual.get("final_expand_layer", {})),
              ("feature_mix_layer", expected["feature_mix_layer"], actual.get("feature_mix_layer", {}))]
    for i, (exp, act) in enumerate(zip(expected["blocks"], actual.get("blocks", []))):
        conv = act.get("mobile_inverted_conv") or act.get("conv") or {}
        conv = conv if isinstance(conv, dict) else {}
        checks.append((f"blocks[{i}]", exp["mobile_inverted_conv"], conv))
        if (exp["shortcut"] is None) != (act.get("shortcut") is None):
            raise InvalidInput(f"net.config blocks[{i}] shortcut does not match space {space.name}")
    fields = ("in_channels", "out_channels", "kernel_size", "stride", "expand_ratio", "mid_channels", "act_func",
              "use_se", "use_bn")
    for where, exp, act in checks:
        for f in fields:
            if f in exp and f in act and exp[f] != act[f]:
                raise InvalidInput(f"net.config {where}.{f}={act[f]!r} but space {space.name} builds {exp[f]!r}")
    cls, exp_cls = actual.get("classifier", {}), expected["classifier"]
    for f in ("in_features", "out_features"):
        if cls.get(f) != exp_cls[f]:
            raise InvalidInput(f"net.config classifier.{f}={cls.get(f)!r} but space {space.name} builds {exp_cls[f]!r}")
