"""One optimizer step: run the strategy's subnet passes, accumulate their gradients, update."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from supernets import Supernet

from ..data import resize
from .strategies import SubnetTask

__all__ = ["soft_cross_entropy", "PassResult", "run_passes", "build_optimizer", "activate"]


def soft_cross_entropy(logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against the teacher's softmax (once-for-all's and BigNAS's distillation loss)."""
    return -(F.softmax(teacher_logits, dim=1) * F.log_softmax(logits, dim=1)).sum(1).mean()


def activate(supernet: Supernet, task: SubnetTask) -> dict:
    """Make ``task``'s subnet (on its mixture member, where it names one) the supernet's active one."""
    if task.member is None:
        return supernet.set_active(task.arch)
    return supernet.set_active(task.arch, member=task.member)


@dataclass
class PassResult:
    role: str
    loss: float  # the task's loss before the gradient scale
    correct: int


def run_passes(model: nn.Module, supernet: Supernet, tasks: list[SubnetTask], images: torch.Tensor,
               labels: torch.Tensor, teacher: nn.Module | None, label_smoothing: float) -> list[PassResult]:
    """Forward and backward every task on ``images`` (normalized, full size); gradients accumulate."""
    inplace = None
    results = []
    for i, task in enumerate(tasks):
        arch = activate(supernet, task)
        x = resize(images, supernet.input_size(arch))
        out = model(x)
        loss = out.new_zeros(())
        if task.label_weight:
            loss = loss + task.label_weight * F.cross_entropy(out, labels, label_smoothing=label_smoothing)
        if task.kd_weight:
            if task.teacher == "inplace":
                if inplace is None:
                    raise RuntimeError("in-place distillation needs a first task that provides soft labels")
                target = inplace
            else:
                if teacher is None:
                    raise RuntimeError(f"task {task.role} distills from a teacher the loop does not have")
                with torch.no_grad():
                    target = teacher(x)
            loss = loss + task.kd_weight * soft_cross_entropy(out, target)
        (loss * task.grad_scale).backward()
        if i == 0:
            inplace = out.detach()
        results.append(PassResult(task.role, float(loss.detach()), int((out.detach().argmax(1) == labels).sum())))
    return results


def build_optimizer(model: nn.Module, lr: float, momentum: float, nesterov: bool, weight_decay: float,
                    kind: str = "sgd") -> torch.optim.Optimizer:
    """SGD (or AdamW, with betas (momentum, 0.999)) without weight decay on BN/LayerNorm parameters and
    biases (once-for-all's ``no_decay_keys``; DeiT excludes the same)."""
    decay, no_decay = [], []
    for param in model.parameters():
        (no_decay if param.ndim <= 1 else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=(momentum, 0.999))
    if kind != "sgd":
        raise ValueError(f"unknown optimizer {kind!r}")
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0)
