"""What can be searched: search spaces, their genome encoding and batch operations (numpy only)."""

from ._registry import SPACES, Registry, get_space, list_spaces, register_space
from ._space import Arch, Choice, SearchSpace
from .errors import DuplicateName, InvalidArchitecture, InvalidInput, NasError, NotSupported, UnknownName
from .mobilenet_v3_layout import MobileNetV3Layout, MobileNetV3Macro, make_divisible
from .nas_bench_201 import NASBench201Space
from .ofa_mbv3 import OFAMobileNetV3Space
from .ofa_mbv3_cifar import OFAMobileNetV3CifarSpace

__all__ = [
    "Arch",
    "Choice",
    "SearchSpace",
    "OFAMobileNetV3Space",
    "NASBench201Space",
    "OFAMobileNetV3CifarSpace",
    "MobileNetV3Layout",
    "MobileNetV3Macro",
    "make_divisible",
    "Registry",
    "SPACES",
    "register_space",
    "get_space",
    "list_spaces",
    "NasError",
    "InvalidArchitecture",
    "InvalidInput",
    "UnknownName",
    "DuplicateName",
    "NotSupported",
]
