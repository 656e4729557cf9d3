"""What one latency-table entry measures: an op of the structure contract (``search_spaces.ops.Op``),
and the check that a space declares a structure at all.

A target runs some ops fused as one kernel. The *fusion* mode says how a subnet becomes the kernels
the target really runs, so that its latency sums those kernels, not every primitive:

``block``  a composite op (an inverted-residual or bottleneck block) is one entry (block-fusion
           kernels; TorchScript on CPUs; once-for-all's phone tables).
``layer``  TensorRT-style: every conv runs with its BN and activation fused, the residual add is
           fused into the block's last conv, squeeze-excite is one entry.
"""

from __future__ import annotations

from search_spaces import SearchSpace, Structured, get_space, list_spaces
from search_spaces.errors import InvalidInput, NasError, NotSupported
from search_spaces.ops import FUSIONS, Op, check_fusion

__all__ = ["FUSIONS", "Op", "OpSpec", "check_fusion", "structured", "structured_spaces", "kernel_dtype", "check_dtype"]

OpSpec = Op  # the name of earlier versions


def structured_spaces() -> list[str]:
    """Registered spaces that declare their structure: those latency tables (profile, fit, import) support."""
    out = []
    for name in list_spaces():
        try:
            if isinstance(get_space(name), Structured):
                out.append(name)
        except NasError:  # a broken plugin space must not hide the others
            continue
    return out


def structured(space: SearchSpace) -> Structured:
    """``space`` when it declares the kernels its subnets run, else ``NotSupported`` naming those that do."""
    if not isinstance(space, Structured):
        raise NotSupported(f"latency tables need a space that declares its structure "
                           f"({', '.join(structured_spaces())}); {space.name} does not")
    return space


def kernel_dtype(space: SearchSpace) -> str:
    """``"int8"`` when some subnet of ``space`` runs int8 kernels (an ``S+q`` space's int8 layers), else
    ``"float32"``: the dtype its ops are profiled with."""
    ops = structured(space).structure("block").unique_ops().values()
    return "int8" if any(op.precision for op in ops) else "float32"


def check_dtype(space: SearchSpace, dtype: str) -> None:
    """Refuse (one line) a profiling dtype that cannot run ``space``'s kernels."""
    need = kernel_dtype(space)
    if dtype == need or dtype == "float16" and need == "float32":
        return
    if need == "int8":
        raise InvalidInput(f"{space.name} runs int8 layers: profile it with --dtype int8 (oneDNN's int8 kernels "
                           f"for them, fp32 for the rest)")
    raise InvalidInput(f"--dtype int8 profiles the int8 layers of a space with bits ({space.family}+q); "
                       f"{space.name} has none: use --dtype float32 or --space {space.family}+q")
