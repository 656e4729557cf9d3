"""How weights are shared: torch supernets over the spaces in ``search_spaces``."""

from . import ofa_mbv3 as _ofa_mbv3  # noqa: F401  (registers the OFA-MobileNetV3 supernets)
from . import ofa_resnet50 as _ofa_resnet50  # noqa: F401  (registers the OFA-ResNet50 supernets)
from . import resnet20_pooling as _resnet20_pooling  # noqa: F401  (registers the ResNet20 pooling supernet)
from . import vit_resnas as _vit_resnas  # noqa: F401  (registers the ViT-ResNAS supernets)
from ._base import (
    FOREIGN_FORMATS,
    SUPERNETS,
    ChannelSorting,
    ForeignWeights,
    MultiArch,
    Supernet,
    build_keywords,
    check_build_options,
    create_supernet,
    list_supernets,
    option_variant,
    register_supernet,
    training_keywords,
)
from .ofa_mbv3 import OFAMobileNetV3Supernet
from .ofa_resnet50 import OFAResNet50Supernet

__all__ = ["Supernet", "ChannelSorting", "MultiArch", "ForeignWeights", "FOREIGN_FORMATS", "SUPERNETS",
           "create_supernet", "build_keywords", "training_keywords", "option_variant", "check_build_options",
           "list_supernets", "register_supernet", "OFAMobileNetV3Supernet", "OFAResNet50Supernet"]
