"""Static modules that extracted subnets are made of (TorchScript-compatible)."""

from .layers import Classifier, ConvBNAct, MBConv, SqueezeExcite, make_activation
from .mobilenet_v3 import MobileNetV3Net

__all__ = ["Classifier", "ConvBNAct", "MBConv", "SqueezeExcite", "make_activation", "MobileNetV3Net"]
