"""Capability: a space that reads and writes another tool's description of a subnet (e.g. once-for-all's
``net.config``), so ``nas arch`` and ``nas export`` handle it without knowing the family."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Mapping

__all__ = ["ForeignArchFormat"]


class ForeignArchFormat(ABC):
    """``foreign_format`` names the file (``net.config``); export writes it beside the subnet."""

    foreign_format: ClassVar[str]

    @abstractmethod
    def is_foreign_arch(self, obj: Any) -> bool:
        """Whether a parsed JSON document is a description in this format."""

    @abstractmethod
    def arch_from_foreign(self, obj: Mapping[str, Any], path: Path, resolution: int | None = None) -> dict:
        """The arch the document at ``path`` describes (``InvalidInput`` naming the first mismatch)."""

    @abstractmethod
    def arch_to_foreign(self, arch: Mapping[str, Any]) -> dict:
        """The document describing ``arch``."""
