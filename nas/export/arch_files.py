"""Read an architecture from a file: an arch JSON, an exported subnet's JSON, best.json, or a file in the
space's foreign format (once-for-all's net.config)."""

from __future__ import annotations

from pathlib import Path

from search_spaces import Arch, ForeignArchFormat, SearchSpace, Structured
from search_spaces.checks import check_regular_file, read_json_file
from search_spaces.errors import InvalidInput

__all__ = ["read_arch_file", "arch_file_space"]


def read_arch_file(path: str | Path, space: SearchSpace, resolution: int | None = None) -> Arch:
    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"architecture file {path} is a directory; expected an arch JSON, best.json or net.config "
                           "file")
    check_regular_file(path, "architecture file")
    if not path.is_file():
        raise InvalidInput(f"architecture file {path} does not exist")
    obj = read_json_file(path, "architecture file")
    if isinstance(space, ForeignArchFormat) and space.is_foreign_arch(obj):
        return space.arch_from_foreign(obj, path, resolution)
    if isinstance(obj, dict) and "blocks" in obj and not isinstance(space, ForeignArchFormat):
        raise InvalidInput(f"{path} looks like another tool's network description; space {space.name} reads arch "
                           f"JSON (keys {', '.join(space.keys)}) only")
    if isinstance(obj, dict) and isinstance(obj.get("best"), dict):  # best.json of a search run
        obj = obj["best"]
    if isinstance(obj, dict) and isinstance(obj.get("arch"), dict):  # exported subnet JSON
        obj = obj["arch"]
    if resolution is not None and isinstance(obj, dict):
        key = space.resolution_key if isinstance(space, Structured) else None
        if key is None:
            raise InvalidInput(f"--resolution: space {space.name} has no input-resolution choice")
        obj = {**obj, key: resolution}
    return space.validate(obj)


def arch_file_space(path: str | Path) -> str | None:
    """The space an arch file names: an exported subnet's JSON records it, a search run's best.json
    sits beside the run's config.json; None for plain arch JSON and net.config files."""
    path, config = Path(path), Path(path).parent / "config.json"
    try:
        check_regular_file(path)  # a named pipe would block here, before read_arch_file refuses it
        obj = read_json_file(path)
        if isinstance(obj, dict) and isinstance(obj.get("space"), str):
            return obj["space"]
        if isinstance(obj, dict) and "best" in obj and config.is_file():
            run = read_json_file(config)
            return run.get("space") if isinstance(run, dict) and isinstance(run.get("space"), str) else None
    except InvalidInput:
        return None  # read_arch_file says what is wrong with the file
    return None
