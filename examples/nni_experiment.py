"""Search ofa-mbv3 for a Jetson with NNI's TPE tuner: an NNI experiment whose trials this engine scores.

Each trial is `nas nni-trial` (run as `python -m nas nni-trial`): it scores the subnet NNI proposes with the
shipped accuracy predictor and the `jetson` latency target, and reports accuracy as NNI's `default`
(0 when the subnet breaks the latency bound). Needs the nni extra (`pip install -e '.[nni]'`);
starts NNI's local manager and web portal on --port, runs --trials trials, prints the best subnet.

    python examples/nni_experiment.py --trials 20 --latency-ms 2.4
"""

from __future__ import annotations

import argparse
import shlex
import sys

from nas.integrations.nni_space import nni_search_space
from nas.integrations.nni_trial import trial_problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=2.4)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    from nni.experiment import Experiment

    constraint = f"latency<={args.latency_ms}ms"
    problem = trial_problem("ofa-mbv3", "jetson", [constraint])  # the shipped predictor fixes r=224
    experiment = Experiment("local")
    experiment.config.experiment_name = f"{problem.space.name} on jetson, {constraint}"
    experiment.config.search_space = nni_search_space(problem.space)
    experiment.config.trial_command = shlex.join([sys.executable, "-m", "nas", "nni-trial", "--space",
                                                  problem.space.name, "--target", "jetson", "--constraint", constraint])
    experiment.config.trial_code_directory = "."
    experiment.config.trial_concurrency = 2
    experiment.config.max_trial_number = args.trials
    experiment.config.tuner.name = "TPE"
    experiment.config.tuner.class_args = {"optimize_mode": "maximize", "seed": 0}
    try:
        experiment.run(args.port)
        trials = [t.value for t in experiment.export_data() if isinstance(t.value, dict)]
    finally:
        experiment.stop()
    feasible = [t for t in trials if t["feasible"]]
    print(f"{len(trials)} trials, {len(feasible)} within {constraint}")
    if feasible:
        best = max(feasible, key=lambda t: t["accuracy"])
        print(f"best: {best['accuracy']:.2f}% predicted top-1, {best['latency']:.2f} ms, {best['arch_id']}")


if __name__ == "__main__":
    main()
