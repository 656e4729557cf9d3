"""A quantization policy: the bits of each quantizable layer a subnet runs, and where that layer is in the
static net ``Supernet.extract`` returns.

``policy_for(space, arch)`` reads an ``S+q`` arch: the layer names are the overlay's positions
(``space.quant_layers``: ``stem``, ``blocks.3.expand``, ``classifier``) and each is placed at the module
path the ``StaticNet`` built from ``space.layers(arch)`` gives its op (``blocks.2.main.expand``: ops of one
name are numbered in execution order, so a slot's name and its module index need not agree). Each layer
also records its op's shape, so ``check_against`` refuses a net the policy was not made for, naming the
first layer that does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from torch import nn

from search_spaces import Arch, SearchSpace
from search_spaces.errors import InvalidInput
from search_spaces.ops import Op
from search_spaces.quant_layers import map_quantizable
from search_spaces.quantization import QUANT_KEYS, QuantizedSpace
from supernets.static.oplib import Classifier, ConvBNAct, SqueezeExcite

__all__ = ["LayerBits", "QuantPolicy", "policy_for", "split_arch", "require_quantized", "require_fp32"]


@dataclass(frozen=True)
class LayerBits:
    """One quantizable layer: its overlay name, op kind, module path in the static net, bits, and shape."""

    name: str
    kind: str  # conv, dwconv, se, linear
    path: str
    wbits: int = 32
    abits: int = 32
    wmode: str = "symmetric"
    in_c: int = 0
    out_c: int = 0
    kernel: int = 1
    stride: int = 1

    @property
    def quantized(self) -> bool:
        return self.wbits < 32 or self.abits < 32

    @property
    def int8(self) -> bool:
        """Runs on int8 kernels: 8-bit weights and 8-bit input activations."""
        return self.wbits == 8 and self.abits == 8


@dataclass(frozen=True)
class QuantPolicy:
    """The layers of one subnet with their bits, in execution order (layers the subnet does not run are absent)."""

    layers: tuple[LayerBits, ...]
    space: str = ""

    def __post_init__(self):
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise InvalidInput(f"a quantization policy names a layer twice: {names}")

    def __getitem__(self, name: str) -> LayerBits:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise InvalidInput(f"layer {name!r} is not in the policy; its layers: {', '.join(self.names)}")

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    def with_bits(self, wbits: int | None = None, abits: int | None = None, wmode: str | None = None) -> "QuantPolicy":
        """The same layers with the given bits on every one (``None``: keep each layer's)."""
        from dataclasses import replace

        return QuantPolicy(tuple(replace(layer, wbits=layer.wbits if wbits is None else int(wbits),
                                         abits=layer.abits if abits is None else int(abits),
                                         wmode=layer.wmode if wmode is None else wmode)
                                 for layer in self.layers), self.space)

    def check_against(self, net: nn.Module) -> dict[str, nn.Module]:
        """The module of each layer in ``net``; ``InvalidInput`` naming the first layer that is missing or
        has another kind or shape (a policy made for another subnet or space)."""
        modules = dict(net.named_modules())
        found = {}
        for layer in self.layers:
            module = modules.get(layer.path)
            what = f"{layer.kind} {layer.in_c}->{layer.out_c} k{layer.kernel}/s{layer.stride}"
            if module is None:
                raise InvalidInput(f"policy layer {layer.name} ({what}) has no module {layer.path} in the subnet: "
                                   f"the policy was made for another subnet{_of(self.space)}")
            got = _describe(module)
            if got != (layer.kind, layer.in_c, layer.out_c, layer.kernel, layer.stride):
                raise InvalidInput(f"policy layer {layer.name} ({what}) does not match the subnet's module "
                                   f"{layer.path} ({_text(got)}): the policy was made for another subnet"
                                   f"{_of(self.space)}")
            found[layer.name] = module
        return found


def _of(space: str) -> str:
    return f" of {space}" if space else ""


def _describe(module: nn.Module) -> tuple:
    if isinstance(module, ConvBNAct):
        c = module.conv
        kind = "dwconv" if c.groups == c.in_channels and c.groups > 1 else "conv"
        return kind, c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]
    if isinstance(module, SqueezeExcite):
        return "se", module.reduce.in_channels, module.expand.out_channels, 1, 1
    if isinstance(module, Classifier):
        return "linear", module.linear.in_features, module.linear.out_features, 1, 1
    return (type(module).__name__,)


def _text(described: tuple) -> str:
    if len(described) == 1:
        return f"a {described[0]}"
    kind, i, o, k, s = described
    return f"{kind} {i}->{o} k{k}/s{s}"


def _static_paths(ops: list[Op]) -> list[str]:
    """The module path of each op of a ``StaticNet`` built from ``ops`` (its grouping rule)."""
    counts: dict[str, int] = {}
    for op in ops:
        counts[op.name or "layers"] = counts.get(op.name or "layers", 0) + 1
    seen: dict[str, int] = {}
    out = []
    for op in ops:
        name = op.name or "layers"
        out.append(name if counts[name] == 1 else f"{name}.{seen.get(name, 0)}")
        seen[name] = seen.get(name, 0) + 1
    return out


def _require_space(space: SearchSpace) -> QuantizedSpace:
    if not isinstance(space, QuantizedSpace):
        raise InvalidInput(f"space {space.name} has no bits: a quantization policy needs an S+q space "
                           f"(e.g. {space.family}+q)")
    return space


def policy_for(space: SearchSpace, arch: Mapping[str, Any]) -> QuantPolicy:
    """The policy of the ``S+q`` arch ``arch``: each layer the subnet runs, with its bits and module path."""
    space = _require_space(space)
    arch = require_quantized(space, arch)
    structure = space.base.structure("block")
    # the base's variant index: it indexes the base structure (the overlay's own may multiply its variants)
    index = space.base.variant_index(space.encode(arch)[None, :space.nb])[0]
    position = {layer.name: p for p, layer in enumerate(space.quant_layers)}
    named: dict[int, str] = {}
    ops: list[Op] = []
    for slot, v in zip(structure.slots, index):
        if v < 0:
            continue
        variant_ops = slot.variants[v].ops
        map_quantizable(slot.name, variant_ops, lambda name, prim: _record(named, name, prim))
        ops += list(variant_ops)
    layers = []
    for op, path in zip(ops, _static_paths(ops)):
        if op.parts:
            prims = [(p, f"{path}.shortcut.{p.name or f'op{i}'}") for i, p in enumerate(op.shortcut)]
            prims += [(p, f"{path}.main.{p.name or f'op{i}'}") for i, p in enumerate(op.parts)]
        else:
            prims = [(op, path)]
        for prim, prim_path in prims:
            if id(prim) not in named:
                continue
            name = named[id(prim)]
            p = position[name]
            wb, ab = int(arch["wbits"][p]), int(arch["abits"][p])
            layers.append(LayerBits(name, prim.kind, prim_path, wb, ab, str(arch["wmode"][p]),
                                    int(prim.in_shape[2]), int(prim.out_shape[2]), int(prim.kernel),
                                    int(prim.stride)))
    return QuantPolicy(tuple(layers), space.name)


def _record(named: dict[int, str], name: str, prim: Op) -> Op:
    named[id(prim)] = name
    return prim


def split_arch(space: SearchSpace, arch: Mapping[str, Any]) -> tuple[Arch, QuantPolicy]:
    """``(base arch, policy)`` of an ``S+q`` arch: what the fp32 supernet extracts, and the bits to apply."""
    space = _require_space(space)
    arch = require_quantized(space, arch)
    return {k: v for k, v in arch.items() if k not in QUANT_KEYS}, policy_for(space, arch)


def require_quantized(space: QuantizedSpace, arch: Mapping[str, Any]) -> Arch:
    """``arch`` validated as an ``S+q`` arch; a one-line error for an fp32 arch (no bits)."""
    if isinstance(arch, Mapping) and not any(k in arch for k in QUANT_KEYS):
        raise InvalidInput(f"an fp32 architecture (no wbits/abits/wmode) was given where space {space.name} needs "
                           f"a quantized one: add wbits, abits and wmode lists of {len(space.quant_layers)} values "
                           f"(e.g. space.with_bits(arch, 8, 8))")
    return space.validate(arch)


def require_fp32(space: SearchSpace, arch: Mapping[str, Any]) -> Arch:
    """``arch`` validated for the fp32 space ``space``; a one-line error for a quantized (S+q) arch."""
    if isinstance(arch, Mapping) and any(k in arch for k in QUANT_KEYS) and not isinstance(space, QuantizedSpace):
        raise InvalidInput(f"a quantized architecture (with {'/'.join(k for k in QUANT_KEYS if k in arch)}) was "
                           f"given where space {space.name} needs an fp32 one: use space {space.family}+q, or drop "
                           f"the bits")
    return space.validate(arch)
