"""``nas nni-space`` and ``nas nni-trial``: an NNI experiment whose trials score subnets with this engine."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer
from rich.markup import escape

from ..integrations.nni_space import nni_search_space
from ..integrations.nni_trial import run_trial, trial_problem
from ..io import write_json
from ._common import app, console, print_json, user_errors

SPACE = typer.Option("ofa-mbv3", "--space", "-s", help="Search space (see `nas spaces`).")
TARGET = typer.Option("macs", "--target", "-t", help="Hardware target the trials report.")
CONSTRAINT = typer.Option(None, "--constraint", "-c", help="e.g. latency<=20ms (repeatable).")
PREDICTOR = typer.Option(None, "--predictor", help="Accuracy predictor file (default: the shipped one).")


@app.command("nni-space")
@user_errors
def nni_space(
    space: str = SPACE, target: str = TARGET, constraint: list[str] = CONSTRAINT, predictor: str = PREDICTOR,
    out: Path = typer.Option(None, "--out", help="Write the search-space JSON here (default: print it)."),
) -> None:
    """Write NNI's search-space JSON for a space, and the trial command that scores what NNI's tuners propose."""
    problem = trial_problem(space, target, constraint or (), predictor)
    doc = nni_search_space(problem.space)
    args = ["nas", "nni-trial", "--space", problem.space.name, "--target", target]
    for c in constraint or ():
        args += ["--constraint", c]
    if predictor:
        args += ["--predictor", str(Path(predictor).resolve())]
    if out is None:
        print_json(doc)
        return
    write_json(out, doc)
    for note in problem.notes:
        console.print(escape(note))
    console.print(f"wrote {escape(str(out))} ({len(doc)} genes of {escape(problem.space.name)})")
    console.print(f"trialCommand: {escape(shlex.join(args))}")


@app.command("nni-trial")
@user_errors
def nni_trial(space: str = SPACE, target: str = TARGET, constraint: list[str] = CONSTRAINT,
              predictor: str = PREDICTOR) -> None:
    """One NNI trial: score the subnet NNI's tuner proposes and report it to NNI (run by NNI, not by hand)."""
    run_trial(trial_problem(space, target, constraint or (), predictor))
