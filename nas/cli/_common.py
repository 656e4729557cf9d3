"""Shared CLI plumbing: the app, one-line errors with exit code 2, JSON output, rich consoles."""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable

import typer
from rich.console import Console
from typer.core import TyperGroup

try:  # typer >= 0.20 ships its own copy of click; older ones use click itself
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors

from search_spaces.errors import InvalidInput, NasError

__all__ = ["app", "console", "err_console", "user_errors", "print_json", "parse_options"]



class _OneLineErrors(TyperGroup):
    """Click's usage errors (unknown option or command, a value of the wrong type or range, a missing
    option) as one ``error:`` line with exit code 2, like the engine's own errors, instead of a box."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_errors.NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            sys.exit(0)
        except click_errors.UsageError as exc:
            typer.echo(f"error: {_usage_message(exc)}", err=True)
            sys.exit(2)
        except click_errors.ClickException as exc:
            typer.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _usage_message(exc: click_errors.UsageError) -> str:
    message = " ".join(exc.format_message().split()).rstrip(".")
    ctx = exc.ctx
    if ctx is None:
        return message
    if isinstance(exc, click_errors.NoSuchOption) or "No such command" in message:
        commands = getattr(ctx.command, "commands", None)
        if "No such command" in message and commands:
            return f"{message}; commands: {', '.join(sorted(commands))}"
    return f"{message} (see `{ctx.command_path} --help`)"


app = typer.Typer(
    name="nas",
    cls=_OneLineErrors,
    help="Hardware-aware neural architecture search: search one supernet for the best subnet per device.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console()
err_console = Console(stderr=True)


def user_errors(fn: Callable) -> Callable:
    """User mistakes (any ``NasError``) become one line on stderr and exit code 2, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            return fn(*args, **kwargs)
        except NasError as exc:
            message = " ".join(str(exc).split())  # always one line
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:  # an output path that cannot be created or is a directory, a full disk, ...
            where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
            typer.echo(f"error: cannot access{where}: {exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=_default) + "\n")


def _default(obj: Any) -> Any:
    from pathlib import Path

    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (np.ndarray,)):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, int) and obj.bit_length() > 53:
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def parse_options(items: list[str] | None) -> dict[str, Any]:
    """``key=value`` pairs (values parsed as JSON when possible) for searcher options."""
    from search_spaces.checks import parse_json_text
    from search_spaces.errors import InvalidInput

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"option {item!r} must look like key=value (e.g. population=50)")
        out[key.strip()] = parse_json_text(value, f"option {key.strip()}", not_json=value)  # a bare word: itself
    return out


def arch_option(arch, space: str | None, resolution: int | None, other: str) -> tuple[str | None, dict | None]:
    """``--arch FILE [--space S] [--resolution R]`` as (space name, arch dict); without ``--arch`` (None, None),
    and ``--resolution`` is refused since ``other`` (e.g. "a run's best subnet") has its own resolution."""
    from search_spaces import get_space

    from ..export import arch_file_space, read_arch_file

    if arch is None:
        if resolution is not None:
            raise InvalidInput(f"--resolution applies to an --arch file; {other} has its own resolution")
        return space, None
    space = space or arch_file_space(arch)
    if space is None:
        raise InvalidInput(f"--arch {arch} does not name its space: pass --space (see `nas spaces`)")
    return space, read_arch_file(arch, get_space(space), resolution)
