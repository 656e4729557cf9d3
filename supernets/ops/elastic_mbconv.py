"""once-for-all's elastic inverted-residual block (elastic kernel and expand ratio)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from search_spaces.mobilenet_v3_layout import make_divisible

from .channel_order import importance_order
from .elastic_bn import ElasticBatchNorm2d
from .elastic_conv import ElasticDepthwiseConv, ElasticPointwiseConv
from .elastic_se import ElasticSqueezeExcite

__all__ = ["ElasticMBConv", "ACTIVATIONS"]

ACTIVATIONS = {"relu": F.relu, "relu6": F.relu6, "h_swish": F.hardswish, "none": lambda x: x}


class ElasticMBConv(nn.Module):
    """1x1 expand -> kxk depthwise -> [SE] -> 1x1 project [+ x], all over active channel prefixes.

    With autograd off (inference, evaluation, export) the sliced and kernel-transformed weights of
    the active setting are cached and reused until a parameter changes (tracked by tensor versions),
    so a subnet run inside the supernet costs what the extracted static subnet costs.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_sizes: tuple[int, ...], expand_ratios: tuple[int, ...],
                 stride: int, act: str, use_se: bool):
        super().__init__()
        self.in_ch, self.out_ch, self.stride, self.act = in_ch, out_ch, stride, act
        self.kernel_sizes = tuple(sorted(kernel_sizes))
        self.expand_ratios = tuple(sorted(expand_ratios))
        max_mid = self.mid_channels(self.expand_ratios[-1])
        self.expand = ElasticPointwiseConv(in_ch, max_mid)
        self.expand_bn = ElasticBatchNorm2d(max_mid)
        self.depthwise = ElasticDepthwiseConv(max_mid, self.kernel_sizes)
        self.depthwise_bn = ElasticBatchNorm2d(max_mid)
        self.se = ElasticSqueezeExcite(max_mid) if use_se else None
        self.project = ElasticPointwiseConv(max_mid, out_ch)
        self.project_bn = ElasticBatchNorm2d(out_ch)
        self.residual = stride == 1 and in_ch == out_ch
        self._act = ACTIVATIONS[act]
        self.active_kernel = self.kernel_sizes[-1]
        self.active_expand = self.expand_ratios[-1]
        self._cache: tuple | None = None

    def mid_channels(self, expand_ratio: int) -> int:
        return make_divisible(round(self.in_ch * expand_ratio), 8)

    def set_active(self, kernel_size: int, expand_ratio: int) -> None:
        self.active_kernel, self.active_expand = kernel_size, expand_ratio

    def active_weights(self) -> tuple[torch.Tensor, ...]:
        """(expand, depthwise, se_reduce_w, se_reduce_b, se_expand_w, se_expand_b, project) of the active subnet."""
        mid = self.mid_channels(self.active_expand)
        se = self.se.active_params(mid) if self.se is not None else (None,) * 4
        return (
            self.expand.active_weight(mid, self.in_ch),
            self.depthwise.active_weight(mid, self.active_kernel),
            *se,
            self.project.active_weight(self.out_ch, mid),
        )

    def _parameter_tensors(self) -> list[torch.Tensor]:
        params = [self.expand.weight, self.depthwise.weight, *self.depthwise.kernel_transforms.values(),
                  self.project.weight]
        if self.se is not None:
            params += [self.se.reduce_weight, self.se.reduce_bias, self.se.expand_weight, self.se.expand_bias]
        return params

    def _cached_weights(self) -> tuple[torch.Tensor, ...]:
        # in-place updates (optimizer steps, load_state_dict, channel sorting) bump _version; moved or
        # replaced parameters (to(), load_state_dict(assign=True)) change data_ptr
        key = (self.active_kernel, self.active_expand, *[(p._version, p.data_ptr()) for p in self._parameter_tensors()])
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, tuple(w.contiguous() if w is not None else None for w in self.active_weights()))
        return self._cache[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.active_weights() if torch.is_grad_enabled() else self._cached_weights()
        w_expand, w_dw, se_rw, se_rb, se_ew, se_eb, w_project = weights
        act = self._act
        y = act(self.expand_bn(F.conv2d(x, w_expand)))
        k = w_dw.shape[-1]
        y = act(self.depthwise_bn(F.conv2d(y, w_dw, None, self.stride, k // 2, 1, w_dw.shape[0])))
        if se_rw is not None:
            s = F.relu(F.conv2d(y.mean((2, 3), keepdim=True), se_rw, se_rb))
            y = y * F.hardsigmoid(F.conv2d(s, se_ew, se_eb))
        y = self.project_bn(F.conv2d(y, w_project))
        return y + x if self.residual else y

    @torch.no_grad()
    def reorganize_channels(self, expand_stage: int = 0) -> None:
        """Sort middle channels by importance (L1 norm of the project weights), as once-for-all does,
        so that every smaller expand ratio keeps the most important channels. ``expand_stage`` k > 0
        keeps the channels of the k largest ratios in their groups (progressive shrinking)."""
        widths = [self.mid_channels(e) for e in sorted(self.expand_ratios, reverse=True)]
        order = importance_order(self.project.weight.abs().sum(dim=(0, 2, 3)), widths, expand_stage)
        self.project.weight.copy_(self.project.weight[:, order])
        self.depthwise.weight.copy_(self.depthwise.weight[order])
        self.expand.weight.copy_(self.expand.weight[order])
        for bn in (self.depthwise_bn, self.expand_bn):
            for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
                t.copy_(t[order])
        if self.se is not None:
            self.se.expand_weight.copy_(self.se.expand_weight[order])
            self.se.expand_bias.copy_(self.se.expand_bias[order])
            self.se.reduce_weight.copy_(self.se.reduce_weight[:, order])
            # the SE hidden units are elastic too: sort them by their expand weights' importance
            hidden = torch.argsort(self.se.expand_weight.abs().sum(dim=(0, 2, 3)), descending=True)
            self.se.expand_weight.copy_(self.se.expand_weight[:, hidden])
            self.se.reduce_weight.copy_(self.se.reduce_weight[hidden])
            self.se.reduce_bias.copy_(self.se.reduce_bias[hidden])
        self._cache = None
