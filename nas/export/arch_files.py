"""Read an architecture from a file: an arch JSON, an exported subnet's JSON, best.json, or a net.config."""

from __future__ import annotations

import json
from pathlib import Path

from search_spaces import Arch, SearchSpace
from search_spaces.errors import InvalidInput
from search_spaces.ofa_mbv3 import OFAMobileNetV3Space

from .ofa_net_config import net_config_to_arch, read_net_config

__all__ = ["read_arch_file", "arch_file_space"]


def read_arch_file(path: str | Path, space: SearchSpace, resolution: int | None = None) -> Arch:
    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"architecture file {path} is a directory; expected an arch JSON, best.json or net.config "
                           "file")
    if not path.is_file():
        raise InvalidInput(f"architecture file {path} does not exist")
    try:
        obj = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"architecture file {path} is not JSON: {exc}") from None
    if isinstance(obj, dict) and "blocks" in obj and "first_conv" in obj:  # once-for-all net.config
        if not isinstance(space, OFAMobileNetV3Space):
            raise InvalidInput(f"{path} is a once-for-all net.config; space {space.name} cannot read it")
        config, image_size = read_net_config(path)
        r = resolution or image_size
        if r is None:
            raise InvalidInput(f"{path} holds no resolution: pass --resolution or put its run.config beside it")
        return net_config_to_arch(space, config, int(r))
    if isinstance(obj, dict) and isinstance(obj.get("best"), dict):  # best.json of a search run
        obj = obj["best"]
    if isinstance(obj, dict) and isinstance(obj.get("arch"), dict):  # exported subnet JSON
        obj = obj["arch"]
    if resolution is not None and isinstance(obj, dict):
        obj = {**obj, "r": resolution}
    return space.validate(obj)


def arch_file_space(path: str | Path) -> str | None:
    """The space an arch file names: an exported subnet's JSON records it, a search run's best.json
    sits beside the run's config.json; None for plain arch JSON and net.config files."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text())
        if isinstance(obj, dict) and isinstance(obj.get("space"), str):
            return obj["space"]
        if isinstance(obj, dict) and "best" in obj and (path.parent / "config.json").is_file():
            space = json.loads((path.parent / "config.json").read_text()).get("space")
            return space if isinstance(space, str) else None
    except (OSError, ValueError, AttributeError):
        return None  # read_arch_file says what is wrong with the file
    return None
