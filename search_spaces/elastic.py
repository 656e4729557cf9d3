"""Capability: the order in which a space's dimensions go elastic under progressive shrinking.

once-for-all trains the largest network first, then unlocks one dimension at a time (MobileNetV3:
kernel, then depth, then expand ratio; ResNet50: depth, expand ratio, width), each in one phase or in
two (first the two largest options, then all). A space declares that order so that training never
lets a dimension go elastic early; choices it does not list (the input resolution, in once-for-all)
are elastic from the first shrinking phase on.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass
from typing import ClassVar

__all__ = ["ShrinkStage", "ShrinkingOrder"]


@dataclass(frozen=True)
class ShrinkStage:
    key: str  # the choice that goes elastic
    label: str  # phase name: "kernel" (one phase) or "depth-1", "depth-2" (two)
    phases: int = 2  # 1: all options at once; 2: the two largest options, then all
    subnets_per_step: int = 1  # once-for-all's dynamic batch size in these phases
    sort_channels: bool = False  # re-sort channels by importance before each of its phases

    def __post_init__(self):
        if self.phases not in (1, 2):
            raise ValueError(f"shrink stage {self.key}: phases must be 1 or 2, not {self.phases}")

    def phase_names(self) -> list[str]:
        return [self.label] if self.phases == 1 else [f"{self.label}-{i + 1}" for i in range(self.phases)]


class ShrinkingOrder(ABC):
    """Mixin for spaces: ``shrink_order`` lists the stages of progressive shrinking, in order."""

    shrink_order: ClassVar[tuple[ShrinkStage, ...]]
