"""Turn user-level choices (space, target, accuracy source, constraints) into an Evaluator."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from predictors import Predictor, load_predictor
from predictors.shipped import shipped_predictor
from search_spaces import SearchSpace, get_space
from search_spaces.errors import InvalidInput, NotSupported

from ..hardware import CostModel, resolve_target
from .constraints import Constraint, parse_constraint
from .evaluator import Evaluator
from .objectives import Objective, cost_objective, count_objective, size_objective

__all__ = ["SearchProblem", "build_problem", "accuracy_objective"]


@dataclass
class SearchProblem:
    space: SearchSpace
    evaluator: Evaluator
    target: CostModel
    constraints: list[Constraint]
    predictor: Predictor | None
    predictor_ref: str | None  # "shipped" or a file path: how a resumed run finds it again
    notes: list[str] = field(default_factory=list)

    @property
    def sources(self) -> dict[str, str]:
        return {name: m.source for name, m in self.evaluator.metrics.items()}


def accuracy_objective(predictor: Predictor, label: str) -> Objective:
    meta = predictor.metadata
    quality = meta.get("cv", {})
    detail = (f", CV Kendall tau {quality['kendall_tau']:.3f}, RMSE {quality['rmse']:.3f}"
              if "kendall_tau" in quality else "")
    return Objective("accuracy", predictor.predict, "max", "%",
                     source=f"{label} {predictor.kind} predictor{detail}", metadata=dict(meta))


def _load_accuracy(space: SearchSpace,
                   predictor: str | Path | Predictor | None) -> tuple[Predictor | None, str | None, str]:
    if isinstance(predictor, Predictor):
        return predictor, None, "given"
    if predictor in (None, "shipped", "default"):
        found = shipped_predictor(space)
        if found is None and predictor is not None:
            raise InvalidInput(f"no predictor ships for space {space.name}; pass --predictor FILE")
        return found, ("shipped" if found is not None else None), "shipped"
    if predictor == "none":
        return None, None, ""
    path = Path(predictor).resolve()
    return load_predictor(path), str(path), f"file {Path(predictor).name}:"


def _check_objective_names(objectives: list[str]) -> None:
    if not objectives:
        raise InvalidInput("no objective to optimize: name at least one with --objective (e.g. accuracy)")
    repeated = next((name for i, name in enumerate(objectives) if name in objectives[:i]), None)
    if repeated is not None:
        raise InvalidInput(f"objective {repeated!r} is given twice; each --objective must name a different metric")


def build_problem(space: str | SearchSpace, target: str, constraints: list[str] | tuple[str, ...] = (),
                  predictor: str | Path | Predictor | None = None, objectives: list[str] | None = None,
                  accuracy: Objective | None = None) -> SearchProblem:
    """Assemble what a search optimizes and records.

    Objectives default to [accuracy] with constraints (once-for-all's constrained search) and to
    [accuracy, <target metric>] without. A predictor fitted on a restriction of the space (e.g. only
    resolution 224) narrows the search to that restriction. ``accuracy`` (e.g. the measured accuracy
    of ``nas.evaluate.objective``) replaces the predictor as the accuracy source; its genomes must
    be in ``space``.
    """
    space = get_space(space) if isinstance(space, str) else space
    notes: list[str] = []
    if accuracy is not None:
        if accuracy.name != "accuracy":
            raise InvalidInput(f"the accuracy source must be an objective named 'accuracy', not {accuracy.name!r}")
        made_for = accuracy.metadata.get("space")
        if made_for is not None and made_for != space.name:
            raise InvalidInput(f"the accuracy objective measures subnets of {made_for}, not {space.name}")
        model, ref, label = None, None, ""
    else:
        model, ref, label = _load_accuracy(space, predictor)
    if model is not None and model.space.name != space.name:
        if model.space.name.split("[", 1)[0] != space.name.split("[", 1)[0]:
            raise InvalidInput(f"predictor is for space {model.space.name}, not {space.name}")
        notes.append(f"searching {model.space.name}: the accuracy predictor covers only that part of {space.name}")
        space = model.space
    parsed = [parse_constraint(c) for c in constraints]
    cost = resolve_target(target, space)
    metrics: dict[str, Objective] = {}
    if accuracy is not None:
        metrics["accuracy"] = accuracy
    elif model is not None:
        metrics["accuracy"] = accuracy_objective(model, label)
    metrics[cost.metric] = cost_objective(cost)
    for name in ("macs", "params"):
        if name not in metrics:
            try:
                space.count(np.zeros((1, space.n_genes), dtype=np.int64))
                metrics[name] = count_objective(space, name)
            except NotSupported:
                pass
    if any(c.metric == "size" for c in parsed) or (objectives and "size" in objectives):
        metrics["size"] = size_objective(space)
    if objectives is None:
        if "accuracy" not in metrics:
            raise InvalidInput(
                f"no accuracy source for space {space.name}: pass --predictor FILE (see `nas predictors`), "
                f"or name the objectives to optimize with --objective"
            )
        objectives = ["accuracy"] if parsed else ["accuracy", cost.metric]
    _check_objective_names(objectives)
    chosen = []
    for name in objectives:
        if name not in metrics:
            raise InvalidInput(f"objective {name!r} is not available here; available: {', '.join(metrics)}")
        chosen.append(metrics[name])
    evaluator = Evaluator(space, chosen, list(metrics.values()), parsed)
    return SearchProblem(space, evaluator, cost, parsed, model, ref, notes)
