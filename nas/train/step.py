"""One optimizer step: run the strategy's subnet passes, accumulate their gradients, update."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from supernets import MultiArch, Supernet

from ..data import resize
from .strategies import SubnetTask

__all__ = ["soft_cross_entropy", "PassResult", "run_passes", "build_optimizer", "activate", "split_sizes",
           "hard_labels"]


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


def split_sizes(n: int, k: int) -> list[int]:
    """``n`` samples in ``k`` consecutive sub-batches of equal size (when ``k`` does not divide ``n``, the
    first ``n % k`` take one more; with ``k > n`` the last ones are empty)."""
    return [n // k + (i < n % k) for i in range(k)]


def hard_labels(labels: torch.Tensor) -> torch.Tensor:
    """Class indices of ``labels``: as given, or the most likely class of soft targets ``[B, classes]``."""
    return labels if labels.ndim == 1 else labels.argmax(1)


def _task_loss(task: SubnetTask, out: torch.Tensor, labels: torch.Tensor, x: torch.Tensor,
               inplace: torch.Tensor | None, teacher: nn.Module | None, label_smoothing: float) -> torch.Tensor:
    """The task's loss on one (sub-)batch: labels are class indices or soft targets (mixup/cutmix);
    ``inplace`` is the first task's detached output on the same samples."""
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
    return loss


def _one_forward(supernet: Supernet, task: SubnetTask, sizes: list[int]) -> bool:
    """Whether ``task``'s archs run as one forward (a MultiArch supernet, no mixture member, one input size)."""
    if len(task.subnets) < 2 or task.member is not None or not isinstance(supernet, MultiArch):
        return False
    return len({supernet.input_size(a) for a, n in zip(task.subnets, sizes) if n}) == 1


def run_passes(model: nn.Module, supernet: Supernet, tasks: list[SubnetTask], images: torch.Tensor,
               labels: torch.Tensor, teacher: nn.Module | None, label_smoothing: float) -> list[PassResult]:
    """Forward and backward every task on ``images`` (normalized, full size); gradients accumulate.

    ``labels`` are class indices ``[B]`` or soft targets ``[B, classes]``. A task with several archs
    trains ``archs[i]`` on the i-th of ``len(archs)`` consecutive sub-batches: in one forward through
    ``set_active_many`` where the supernet is ``MultiArch`` and the archs take one input size, else one
    forward-backward per sub-batch with its loss weighted by the sub-batch's share of the batch (the
    same gradient: the mean loss over the batch). Either way the supernet is left on ``task.arch``."""
    inplace = None
    results = []
    n = len(images)
    hard = hard_labels(labels)
    for i, task in enumerate(tasks):
        archs = task.subnets
        sizes = split_sizes(n, len(archs))
        if len(archs) == 1 or _one_forward(supernet, task, sizes):
            if len(archs) == 1:
                arch = activate(supernet, task)
            else:
                kept = [(a, s) for a, s in zip(archs, sizes) if s]
                arch = supernet.set_active_many([a for a, _ in kept], [s for _, s in kept], masks=task.masks)[0]
            x = resize(images, supernet.input_size(arch))
            out = model(x)
            loss = _task_loss(task, out, labels, x, inplace, teacher, label_smoothing)
            (loss * task.grad_scale).backward()
            out = out.detach()
            value = float(loss.detach())
            if len(archs) > 1:
                activate(supernet, task)  # back to the single-arch path
        else:
            outs, value, start = [], 0.0, 0
            for arch, size in zip(archs, sizes):
                if not size:
                    continue
                part = slice(start, start + size)
                start += size
                activate(supernet, replace(task, arch=arch, archs=()))
                x = resize(images[part], supernet.input_size(arch))
                sub = model(x)
                loss = _task_loss(task, sub, labels[part], x, None if inplace is None else inplace[part],
                                  teacher, label_smoothing)
                share = size / n
                (loss * (share * task.grad_scale)).backward()
                value += share * float(loss.detach())
                outs.append(sub.detach())
            out = torch.cat(outs)
            activate(supernet, task)
        if i == 0:
            inplace = out
        results.append(PassResult(task.role, value, int((out.argmax(1) == hard).sum())))
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
