"""Measuring subnets: BN recalibration, accuracy, and datasets for predictors."""

from .bn_recalibration import recalibrate_bn

__all__ = ["recalibrate_bn"]
