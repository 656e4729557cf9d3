"""The trial an NNI experiment runs: score the subnet NNI's tuner proposes with this engine's objectives.

NNI starts ``nas nni-trial --space ofa-mbv3[r=224] --target jetson --constraint latency<=20ms`` once
per trial. The trial reads the tuner's parameters
(``nni.get_next_parameter``), evaluates that subnet as ``nas search`` would (the same predictor,
target and constraints) and reports every metric with ``nni.report_final_result``. NNI's tuners
optimize one number, ``default``: the accuracy, or 0 for a subnet that breaks a constraint (rejected,
as once-for-all's evolution rejects it). ``nas nni-space`` with the same options writes the
experiment's search space.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping, Sequence

import numpy as np

from search_spaces.errors import NotSupported

from ..search.assemble import SearchProblem, build_problem
from .nni_space import genomes_from_nni

__all__ = ["trial_problem", "score_sample", "run_trial"]


def trial_problem(space: str, target: str = "macs", constraints: Sequence[str] = (),
                  predictor: str | None = None) -> SearchProblem:
    """What a trial scores: accuracy from the predictor (shipped by default), the target's cost, constraints."""
    problem = build_problem(space, target, list(constraints), predictor)
    if "accuracy" not in problem.evaluator.metrics:
        raise NotSupported(f"an NNI trial needs an accuracy predictor for space {problem.space.name}; pass --predictor")
    return problem


def score_sample(problem: SearchProblem, sample: Mapping[str, Any]) -> dict[str, Any]:
    """NNI's final result for one proposed subnet: ``default`` (accuracy, 0 if infeasible) and every metric."""
    genomes = genomes_from_nni(problem.space, [sample])
    values = problem.evaluator.evaluate(genomes)
    G = problem.evaluator.G(values)
    feasible = bool(np.all(G <= 0))
    metrics = {name: float(v[0]) for name, v in values.items()}
    return {"default": metrics["accuracy"] if feasible else 0.0, **metrics, "feasible": feasible,
            "arch_id": problem.space.arch_ids(genomes)[0]}


def run_trial(problem: SearchProblem) -> dict[str, Any]:
    """Score the parameters NNI gives this trial process and report them to NNI (needs the nni extra)."""
    try:
        import nni
    except ImportError:
        raise NotSupported("NNI is not installed; install the extra: pip install -e '.[nni]'") from None
    with warnings.catch_warnings():  # outside an experiment NNI warns at length; the error below says it in one line
        warnings.simplefilter("ignore", RuntimeWarning)
        sample = nni.get_next_parameter()
    if not sample:
        raise NotSupported("NNI gave this trial no parameters: run it from an NNI experiment")
    result = score_sample(problem, sample)
    nni.report_final_result(result)
    return result
