"""The training loop, shared by in-process runs and Ray Train workers.

Every random choice of step ``t`` (data order per epoch, augmentation, subnet sampling, dropout)
is seeded from ``(seed, t)``, identically on every rank, so a run resumed from the checkpoint of
epoch ``e`` replays steps ``e * S ...`` exactly as an uninterrupted run does, and every rank trains
the same subnet at each step. Rank 0 alone writes metrics and checkpoints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from search_spaces import get_space
from search_spaces.errors import InvalidInput, NotSupported
from supernets import ChannelSorting, create_supernet
from supernets.checkpoint import fine_tune_options, load_weights, read_checkpoint, save_checkpoint

from ..data import augment, normalize, resize
from ..data.augment import mix_batch
from ..io import remove_stale_temps
from .config import TrainConfig, TrainData, prepare_data, steps_per_epoch
from .metrics import append_metrics, plot_training, read_metrics, truncate_metrics
from .state import read_training_checkpoint, save_training_checkpoint, set_rng_state
from .step import activate, build_optimizer, run_passes
from .strategies import REORGANIZE, RESET_OPTIMIZER, SNAPSHOT_TEACHER, Strategy, create_strategy
from .strategies.base import max_arch, min_arch

__all__ = ["DistContext", "TrainingLoop", "RunFiles", "ROLES"]

ROLES = ("max", "min", "random", "sampled")


class RunFiles:
    """Where a training run keeps its files."""

    CONFIG, METRICS, PLOT = "config.json", "metrics.csv", "training.png"
    CHECKPOINT, FINAL, SUMMARY = "checkpoints/last.pt", "supernet.pt", "summary.json"

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.config, self.metrics, self.plot = (self.root / n for n in (self.CONFIG, self.METRICS, self.PLOT))
        self.checkpoint, self.final, self.summary = (self.root / n for n in (self.CHECKPOINT, self.FINAL,
                                                                              self.SUMMARY))


@dataclass
class DistContext:
    """How this process takes part in the run: rank, world size, device, the DDP wrapper, and the
    per-epoch ``report(metrics, checkpoint_dir)`` every rank calls (Ray Train's ``report``)."""

    rank: int = 0
    world_size: int = 1
    device: str = "cpu"
    wrap: Callable[[nn.Module], nn.Module] | None = None
    report: Callable[[dict, Path | None], None] | None = None
    restore_from: Path | None = None  # a checkpoint to start from (resume, or a Ray restart)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        if self.world_size > 1:
            import torch.distributed as dist

            values = values.to(self.device)
            dist.all_reduce(values)
        return values.cpu()


def step_seed(seed: int, purpose: int, t: int) -> int:
    return int(np.random.SeedSequence([seed, purpose, t]).generate_state(1)[0])


class TrainingLoop:
    def __init__(self, cfg: TrainConfig, run_dir: str | Path, ctx: DistContext | None = None,
                 data: TrainData | None = None, on_step: Callable | None = None, on_epoch: Callable | None = None,
                 log: Callable[[str], None] | None = None):
        self.cfg, self.files, self.ctx = cfg, RunFiles(run_dir), ctx or DistContext()
        self.on_step, self.on_epoch, self.log = on_step, on_epoch, log
        self.space = get_space(cfg.space)
        self.data = data or prepare_data(cfg)
        self.steps = steps_per_epoch(cfg, self.data.n_fit, self.ctx.world_size)
        self.strategy: Strategy = create_strategy(cfg.strategy, self.space, self.steps * cfg.epochs, self.steps,
                                                  cfg.arch, **cfg.strategy_options)
        if self.strategy.score_images(cfg.batch_size) and len(self.data.y_holdout) < 1:
            raise InvalidInput(f"strategy {cfg.strategy} scores subnets on held-out images; --holdout leaves none")
        torch.manual_seed(cfg.seed)  # the initial weights
        init = read_checkpoint(cfg.init) if cfg.init else None
        if init is not None:
            # a fine-tune builds the supernet the checkpoint was trained as; cfg is what config.json records,
            # so a resume (and every Ray worker) rebuilds that same supernet
            cfg.supernet_options = fine_tune_options(init, self.space, cfg.supernet_options, cfg.init)
        self.supernet = create_supernet(self.space, **{**self.strategy.supernet_options(), **cfg.supernet_options})
        if init is not None:
            load_weights(self.supernet, init, arch=cfg.arch)
        self.supernet.to(self.ctx.device)
        self.optimizer = build_optimizer(self.supernet, cfg.lr, cfg.momentum, cfg.nesterov, cfg.weight_decay,
                                         cfg.optimizer)
        strategy = self.strategy
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda t: strategy.lr_factor(t))
        self.teacher: nn.Module | None = None
        self.start_epoch = 0
        self._plotted = time.perf_counter()
        if self.ctx.restore_from is not None:
            self._restore(self.ctx.restore_from)
        self.strategy.bind(self.supernet)
        self.model = self.ctx.wrap(self.supernet) if self.ctx.wrap else self.supernet
        self.n_classes = int(getattr(self.space, "n_classes", 0) or self.data.source.n_classes)
        self.data_info = {"mean": self.data.mean, "std": self.data.std, "n_fit": self.data.n_fit,
                          "n_holdout": len(self.data.y_holdout), "steps_per_epoch": self.steps,
                          "source": self.data.source.source}

    # ------------------------------------------------------------------------ state
    def _restore(self, path: Path) -> None:
        ckpt = read_training_checkpoint(path, self.cfg.to_dict())
        load_weights(self.supernet, ckpt)
        training = ckpt["extra"]["training"]
        self.optimizer.load_state_dict(training["optimizer"])
        self.scheduler.load_state_dict(training["scheduler"])
        set_rng_state(training["rng"])
        if training["teacher"] is not None:
            self._snapshot_teacher()
            self.teacher.load_state_dict(training["teacher"])
        self.start_epoch = int(training["epoch"])

    def _snapshot_teacher(self) -> None:
        """A frozen copy of the full network; like once-for-all's teacher it normalizes with batch
        statistics (train mode) and has no dropout."""
        teacher = self.supernet.extract(max_arch(self.space)).requires_grad_(False).train()
        for m in teacher.modules():
            if isinstance(m, nn.Dropout):
                m.eval()
        self.teacher = teacher

    def _apply(self, action: tuple) -> None:
        if action[0] == SNAPSHOT_TEACHER:
            self._snapshot_teacher()
        elif action[0] == REORGANIZE:
            if not isinstance(self.supernet, ChannelSorting):
                raise NotSupported(f"strategy {self.cfg.strategy} sorts channels, which supernet {self.space.name} "
                                   f"cannot do")
            self.supernet.sort_channels(action[1], action[2])
        elif action[0] == RESET_OPTIMIZER:
            self.optimizer.state.clear()
        else:
            raise ValueError(f"unknown strategy action {action[0]!r}")

    # -------------------------------------------------------------------------- run
    def run(self) -> None:
        cfg, ctx = self.cfg, self.ctx
        if ctx.is_main:
            truncate_metrics(self.files.metrics, self.start_epoch)
            # temp files of a write that a kill cut short, in the folders rank 0 writes: not workers/, where
            # the other ranks may be writing theirs at this very moment
            for folder in (self.files.root, self.files.checkpoint.parent):
                remove_stale_temps(folder)
        for epoch in range(self.start_epoch, cfg.epochs):
            row = self._train_epoch(epoch)
            if ctx.is_main and cfg.eval_every and ((epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs):
                row.update(self.evaluate_extremes())
            checkpoint_dir = None
            if ctx.is_main:
                append_metrics(self.files.metrics, row)
                last = (epoch + 1) * self.steps - 1
                save_training_checkpoint(self.files.checkpoint, self.supernet, config=cfg.to_dict(), epoch=epoch + 1,
                                         step=last + 1, phase=self.strategy.phase(last),
                                         strategy=self.strategy.state_dict(), optimizer=self.optimizer,
                                         scheduler=self.scheduler, teacher=self.teacher, data_info=self.data_info)
                if epoch + 1 == cfg.epochs or time.perf_counter() - self._plotted > 60:  # plotting takes ~1 s
                    plot_training(read_metrics(self.files.metrics), self.files.plot,
                                  f"{cfg.space} - {cfg.strategy} ({cfg.epochs} epochs)")
                    self._plotted = time.perf_counter()
                checkpoint_dir = self.files.checkpoint.parent
                if self.log:
                    self.log(_describe(row))
            if ctx.report is not None:
                ctx.report(row, checkpoint_dir)
            if self.on_epoch is not None:
                self.on_epoch(row)
        if ctx.is_main:
            save_checkpoint(self.supernet, self.files.final, extra={"training": {
                "format": "nas-train-final/1", "config": cfg.to_dict(), "data": self.data_info,
                "epochs": cfg.epochs, "strategy": self.strategy.state_dict()}})

    def _train_epoch(self, epoch: int) -> dict:
        cfg, ctx, data, S = self.cfg, self.ctx, self.data, self.steps
        order = torch.from_numpy(np.random.default_rng([cfg.seed, 1, epoch]).permutation(data.n_fit))
        shard = cfg.batch_size // ctx.world_size
        mine = slice(ctx.rank * shard, (ctx.rank + 1) * shard)
        sums = torch.zeros(2 * len(ROLES) + 2, dtype=torch.float64)  # loss and count per role, correct, seen
        self.supernet.train()
        start = time.perf_counter()
        for s in range(S):
            t = epoch * S + s
            for action in self.strategy.actions(t):
                self._apply(action)
            idx = order[s * cfg.batch_size:(s + 1) * cfg.batch_size]
            gen = torch.Generator().manual_seed(step_seed(cfg.seed, 4, t))
            shifted = augment(data.x_fit[idx], gen, pad_mode=cfg.pad_mode)
            if cfg.mixing.active:  # mixed over the global batch, so every rank sees its slice of it
                images, labels = mix_batch(normalize(shifted, data.mean, data.std),
                                           data.y_fit[idx], self.n_classes, cfg.mixing, gen)
                images, labels = images[mine].to(ctx.device), labels[mine].to(ctx.device)
            else:
                images = normalize(shifted[mine], data.mean, data.std).to(ctx.device)
                labels = data.y_fit[idx][mine].to(ctx.device)
            tasks = self.strategy.plan(t, np.random.default_rng([cfg.seed, 2, t]))
            torch.manual_seed(step_seed(cfg.seed, 3, t))  # dropout
            self.optimizer.zero_grad(set_to_none=True)
            results = run_passes(self.model, self.supernet, tasks, images, labels, self.teacher, cfg.label_smoothing)
            self.optimizer.step()
            self.scheduler.step()
            if self.strategy.score_images(cfg.batch_size):
                self._score_on_holdout(t, tasks)
            for r in results:
                k = ROLES.index(r.role) if r.role in ROLES else 0
                sums[2 * k] += r.loss
                sums[2 * k + 1] += 1
            sums[-2] += results[0].correct
            sums[-1] += len(labels)
            if self.on_step is not None:
                self.on_step(epoch, s + 1, S, results[0].loss)
        elapsed = time.perf_counter() - start
        sums = ctx.sum(sums)
        last = (epoch + 1) * S - 1
        row = {"epoch": epoch, "phase": self.strategy.phase(last), "lr": self.optimizer.param_groups[0]["lr"],
               **self.strategy.scalars(last)}
        counts = sums[1:2 * len(ROLES):2]
        row["loss"] = float(sums[0:2 * len(ROLES):2].sum() / counts.sum())
        for k, role in enumerate(ROLES):
            if sums[2 * k + 1] > 0:
                row[f"loss_{role}"] = float(sums[2 * k] / sums[2 * k + 1])
        row["train_acc"] = float(100 * sums[-2] / sums[-1])
        row["passes_per_step"] = float(counts.sum() / (S * ctx.world_size))
        row["images_per_s"] = S * cfg.batch_size / elapsed
        row["epoch_s"] = elapsed
        return row

    @torch.no_grad()
    def _score_on_holdout(self, t: int, tasks: list) -> None:
        """Each task's accuracy on step ``t``'s held-out batch (BMS: the next batch of the held-out half,
        cycling, without augmentation), summed over the ranks, handed to the strategy."""
        cfg, ctx, data = self.cfg, self.ctx, self.data
        n = len(data.y_holdout)
        size = min(self.strategy.score_images(cfg.batch_size), n)
        cycle = n // size
        order = np.random.default_rng([cfg.seed, 5, t // cycle]).permutation(n)
        idx = torch.from_numpy(order[(t % cycle) * size:(t % cycle + 1) * size])
        shard = size // ctx.world_size  # ranks share the batch (or each scores all of it: the same ratio)
        part = slice(ctx.rank * shard, (ctx.rank + 1) * shard) if shard else slice(None)
        images = normalize(data.x_holdout[idx][part], data.mean, data.std).to(ctx.device)
        labels = data.y_holdout[idx][part].to(ctx.device)
        self.supernet.eval()
        try:
            for task in tasks:
                activate(self.supernet, task)
                logits = self.supernet(resize(images, self.supernet.input_size(task.arch)))
                counts = ctx.sum(torch.tensor([float((logits.argmax(1) == labels).sum()), float(len(labels))],
                                              dtype=torch.float64))
                self.strategy.record(t, task, float(counts[0] / max(float(counts[1]), 1.0)))
        finally:
            self.supernet.train()

    def evaluate_extremes(self) -> dict:
        """Held-out top-1 of the largest and smallest subnets, after BN recalibration."""
        from ..evaluate.accuracy import EvalSet, evaluate_archs  # evaluate imports train's transforms

        cfg, data = self.cfg, self.data
        n_eval = cfg.eval_images or len(data.y_holdout)
        evalset = EvalSet(data.x_fit[:max(cfg.bn_images, 1)], data.x_holdout[:n_eval], data.y_holdout[:n_eval],
                          data.mean, data.std)
        start = time.perf_counter()
        acc = evaluate_archs(self.supernet, [max_arch(self.space), min_arch(self.space)], evalset, cfg.bn_images)
        return {"val_acc_max": float(acc[0]), "val_acc_min": float(acc[1]), "eval_s": time.perf_counter() - start}


def _describe(row: dict) -> str:
    parts = [f"epoch {row['epoch'] + 1}", f"phase {row['phase']}", f"loss {row['loss']:.3f}",
             f"train acc {row['train_acc']:.1f}%"]
    if "val_acc_max" in row:
        parts.append(f"held-out max {row['val_acc_max']:.1f}% min {row['val_acc_min']:.1f}%")
    parts.append(f"{row['images_per_s']:.0f} img/s")
    return " | ".join(parts)
