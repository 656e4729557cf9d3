"""What can be searched: search spaces, their genome encoding and batch operations (numpy only)."""

from ._registry import (
    OVERLAYS,
    SPACES,
    Registry,
    get_space,
    list_overlays,
    list_spaces,
    register_overlay,
    register_space,
)
from ._space import Arch, Choice, SearchSpace
from .elastic import ShrinkingOrder, ShrinkStage
from .errors import (
    CheckpointError,
    DuplicateName,
    InvalidArchitecture,
    InvalidInput,
    NasError,
    NotSupported,
    UnknownName,
)
from .formats import ForeignArchFormat
from .mobilenet_v3_layout import MobileNetV3Layout, MobileNetV3Macro, make_divisible
from .names import family_of, format_space_name, format_value, parse_space_name
from .nas_bench_201 import NASBench201Space
from .ofa_mbv3 import OFAMobileNetV3Space
from .ofa_mbv3_cifar import OFAMobileNetV3CifarSpace
from .ofa_resnet50 import OFAResNet50Space
from .ops import FUSIONS, OP_KINDS, Op, OpKind, register_op_kind
from .quantization import QuantizedSpace
from .resnet20_pooling import PoolingResNet20Space
from .structure import Slot, SlotSpec, Structure, Structured, Variant, covering_restriction
from .vit_resnas import ViTResNASMacro, ViTResNASSpace

__all__ = [
    "Arch",
    "Choice",
    "SearchSpace",
    "Structured",
    "ForeignArchFormat",
    "ShrinkingOrder",
    "ShrinkStage",
    "Op",
    "OpKind",
    "OP_KINDS",
    "register_op_kind",
    "FUSIONS",
    "Slot",
    "SlotSpec",
    "Structure",
    "Variant",
    "covering_restriction",
    "family_of",
    "format_space_name",
    "format_value",
    "parse_space_name",
    "OFAMobileNetV3Space",
    "NASBench201Space",
    "OFAMobileNetV3CifarSpace",
    "OFAResNet50Space",
    "PoolingResNet20Space",
    "ViTResNASSpace",
    "ViTResNASMacro",
    "QuantizedSpace",
    "MobileNetV3Layout",
    "MobileNetV3Macro",
    "make_divisible",
    "Registry",
    "SPACES",
    "register_space",
    "get_space",
    "list_spaces",
    "OVERLAYS",
    "register_overlay",
    "list_overlays",
    "NasError",
    "InvalidArchitecture",
    "InvalidInput",
    "UnknownName",
    "DuplicateName",
    "NotSupported",
    "CheckpointError",
]
