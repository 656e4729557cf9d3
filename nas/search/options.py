"""Type and range checks for searcher options, shared by every searcher.

Options arrive from ``nas search -o key=value`` (JSON-parsed, so str, int, float, bool, list or null)
or from Python. Each searcher declares an ``OptionSpec`` per option; the base ``Searcher`` checks
them all when it is built, before a run directory is written, so a bad value is one ``InvalidInput``
line naming the option and what it allows, never a traceback from deep inside a library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Callable, Mapping

from search_spaces.errors import InvalidInput

__all__ = ["OptionSpec", "integer", "number", "one_of", "flag", "text", "check_options", "check_option",
           "individual_bytes", "check_memory"]


@dataclass(frozen=True)
class OptionSpec:
    """``convert`` returns the value in its canonical type or raises ``ValueError``/``TypeError``."""

    what: str  # what is allowed, read as "must be <what>"
    convert: Callable[[Any], Any]
    optional: bool = False  # None (null) allowed: the searcher then picks the value itself
    low: float | None = None  # numeric options: the allowed range (for messages' readers and tests)
    high: float | None = None
    individuals: bool = False  # counts subnets the searcher holds at once: bounded by memory (check_memory)

    def describe(self) -> str:
        return f"{self.what} or null" if self.optional else self.what


def _is_int(value: Any) -> bool:
    # bool is an int subclass, but population=true is a mistake, not 1
    return isinstance(value, Integral) and not isinstance(value, bool)


def integer(minimum: int, *, optional: bool = False, individuals: bool = False) -> OptionSpec:
    def convert(value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 50.0 means 50
        if not _is_int(value) or value < minimum:
            raise ValueError
        return int(value)

    return OptionSpec(f"an integer >= {minimum}", convert, optional, low=minimum, individuals=individuals)


def number(low: float, high: float | None = None, *, low_open: bool = False, optional: bool = False) -> OptionSpec:
    """A finite number in ``[low, high]`` (``(low, high]`` with ``low_open``; no upper bound without ``high``)."""
    if high is None:
        what = f"a number {'>' if low_open else '>='} {low:g}"
    else:
        what = f"a number in {'(' if low_open else '['}{low:g}, {high:g}]"

    def convert(value: Any) -> float:
        if not isinstance(value, Real) or isinstance(value, bool) or not math.isfinite(value):
            raise ValueError
        if value < low or (low_open and value == low) or (high is not None and value > high):
            raise ValueError
        return float(value)

    return OptionSpec(what, convert, optional, low=low, high=high)


def one_of(*choices: Any) -> OptionSpec:
    def convert(value: Any) -> Any:
        if isinstance(value, (list, dict)) or value not in choices:
            raise ValueError
        return value

    return OptionSpec(f"one of {', '.join(map(str, choices))}", convert)


def flag() -> OptionSpec:
    def convert(value: Any) -> bool:
        if not isinstance(value, bool) and type(value).__name__ != "bool_":  # numpy's bool too
            raise ValueError
        return bool(value)

    return OptionSpec("true or false", convert)


def text(*, optional: bool = False) -> OptionSpec:
    def convert(value: Any) -> str:
        if _is_int(value):  # -o study_name=2024 arrives as an int
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise ValueError
        return value

    return OptionSpec("a non-empty name", convert, optional)


def check_option(searcher: str, name: str, value: Any, spec: OptionSpec) -> Any:
    """``value`` converted by ``spec``, or ``InvalidInput`` naming the option and what it allows."""
    if value is None and spec.optional:
        return None
    try:
        return spec.convert(value)
    except (TypeError, ValueError) as exc:
        detail = f" ({exc})" if str(exc) else ""
        raise InvalidInput(f"{searcher} option {name} must be {spec.describe()}, got {value!r}{detail}") from None


def check_options(searcher: str, options: Mapping[str, Any], specs: Mapping[str, OptionSpec]) -> dict[str, Any]:
    """Every option that has a spec, checked and converted (options without one pass unchanged)."""
    return {name: check_option(searcher, name, value, specs[name]) if name in specs else value
            for name, value in options.items()}


def individual_bytes(n_genes: int) -> int:
    """Memory a searcher holds per subnet of a population, estimated: its int64 genome about four times over
    (parents, children, sorted and deduplicated copies) plus the objective values and the Python objects
    around it (pymoo's Individual, Optuna's trial), about 1 KiB."""
    return 4 * 8 * int(n_genes) + 1024


def check_memory(searcher: str, options: Mapping[str, Any], specs: Mapping[str, OptionSpec], n_genes: int) -> None:
    """Refuse a population (any option that counts subnets held at once) that cannot fit in this machine's
    memory, before anything is allocated: -o population=10**11 otherwise fails deep inside numpy or pymoo."""
    from search_spaces.checks import check_fits_in_memory

    for name, spec in specs.items():
        value = options.get(name)
        if spec.individuals and value is not None:
            check_fits_in_memory(value * individual_bytes(n_genes), f"{searcher} option {name}={value}")
