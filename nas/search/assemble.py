"""Turn user-level choices (space, target, accuracy source, constraints) into an Evaluator."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from predictors import Predictor, load_predictor
from predictors.shipped import shipped_predictor
from search_spaces import SearchSpace, Structured, get_space
from search_spaces.errors import InvalidInput

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
    restrictions: dict[str, str] = field(default_factory=dict)  # source -> the space it covers

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


def _on(objective: Objective, source: SearchSpace, space: SearchSpace) -> Objective:
    """``objective`` (which reads genomes of ``source``) asked with genomes of ``space``, a restriction of it."""
    if source.name == space.name:
        return objective
    fn = objective.fn
    return replace(objective, fn=lambda genomes: fn(space.genomes_in(source, genomes)))


def build_problem(space: str | SearchSpace, target: str, constraints: list[str] | tuple[str, ...] = (),
                  predictor: str | Path | Predictor | None = None, objectives: list[str] | None = None,
                  accuracy: Objective | None = None) -> SearchProblem:
    """Assemble what a search optimizes and records.

    Objectives default to [accuracy] with constraints (once-for-all's constrained search) and to
    [accuracy, <target metric>] without. The search runs on the user's space intersected with what the
    accuracy source covers (a predictor fitted on resolution 224 only, say) and with what the target
    covers (a table measured at five resolutions); ``restrictions`` and ``notes`` say which came from
    where. ``accuracy`` (e.g. the measured accuracy of ``nas.evaluate.objective``) replaces the
    predictor as the accuracy source; its metadata names the space its genomes are in.
    """
    user = get_space(space) if isinstance(space, str) else space
    notes: list[str] = []
    restrictions = {"user": user.name}
    if accuracy is not None:
        if accuracy.name != "accuracy":
            raise InvalidInput(f"the accuracy source must be an objective named 'accuracy', not {accuracy.name!r}")
        made_for = accuracy.metadata.get("space")
        accuracy_space = get_space(made_for) if made_for is not None else user
        model, ref, label = None, None, ""
    else:
        model, ref, label = _load_accuracy(user, predictor)
        accuracy_space = model.space if model is not None else None
    narrowed = user
    if accuracy_space is not None:
        what = "the accuracy objective" if accuracy is not None else "the accuracy predictor"
        narrowed = user.intersect(accuracy_space, what)
        if narrowed.name != user.name:
            restrictions["accuracy"] = accuracy_space.name
            notes.append(f"searching {narrowed.name}: the accuracy {'source' if accuracy else 'predictor'} covers "
                         f"only that part of {user.name}")
    parsed = [parse_constraint(c) for c in constraints]
    cost = resolve_target(target, narrowed)
    final = cost.space
    if final.name != narrowed.name:
        restrictions["target"] = final.name
        notes.append(f"searching {final.name}: target {cost.name} covers only that part of {narrowed.name}")
    metrics: dict[str, Objective] = {}
    if accuracy is not None:
        metrics["accuracy"] = _on(accuracy, accuracy_space, final)
    elif model is not None:
        metrics["accuracy"] = _on(accuracy_objective(model, label), model.space, final)
    metrics[cost.metric] = cost_objective(cost)
    if isinstance(final, Structured):
        for name in ("macs", "params"):
            metrics.setdefault(name, count_objective(final, name))
    if any(c.metric == "size" for c in parsed) or (objectives and "size" in objectives):
        metrics.setdefault("size", size_objective(final))  # the size target (bits-aware on S+q) if chosen
    if objectives is None:
        if "accuracy" not in metrics:
            raise InvalidInput(
                f"no accuracy source for space {final.name}: pass --predictor FILE (see `nas predictors`), "
                f"or name the objectives to optimize with --objective"
            )
        objectives = ["accuracy"] if parsed else ["accuracy", cost.metric]
    _check_objective_names(objectives)
    chosen = []
    for name in objectives:
        if name not in metrics:
            raise InvalidInput(f"objective {name!r} is not available here; available: {', '.join(metrics)}")
        chosen.append(metrics[name])
    evaluator = Evaluator(final, chosen, list(metrics.values()), parsed)
    return SearchProblem(final, evaluator, cost, parsed, model, ref, notes, restrictions)
