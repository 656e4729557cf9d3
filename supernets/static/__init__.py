"""Static modules that extracted subnets are made of (TorchScript-compatible): the op-builder registry
(``oplib``, torch only) and ``StaticNet``, a subnet built from the ops its space declares."""

from .net import StaticNet
from .oplib import (
           BUILDERS,
           Block,
           Classifier,
           ConvBNAct,
           GlobalPool,
           SqueezeExcite,
           build_op,
           make_activation,
           register_builder,
)

__all__ = ["StaticNet", "BUILDERS", "Block", "Classifier", "ConvBNAct", "GlobalPool", "SqueezeExcite", "build_op",
           "make_activation", "register_builder"]

from . import transformer as _transformer  # noqa: E402,F401  (registers the vision-transformer op builders)
