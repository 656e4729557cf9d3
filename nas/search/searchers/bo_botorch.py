"""The ``botorch`` searcher: BoTorch's qLogNEHVI (qLogNEI for one objective) through optuna-integration's
BoTorchSampler (the shared machinery, history cap and resume are in ``bayesian.py``). Needs
``pip install 'nas-engine[bo]'``."""

from __future__ import annotations

from search_spaces.errors import InvalidInput

from .._searcher import register_searcher
from .bayesian import (
    BOTORCH_CHUNK,
    INSTALL_BO,
    MAX_HISTORY,
    _BayesianSearcher,
    _bounded,
    _history_spec,
    _installed,
    _random_state,
    _set_random_state,
    history_rows,
)

__all__ = ["BoTorchSearcher"]

def _botorch_sampler_class():
    from optuna_integration import BoTorchSampler

    class NasBoTorchSampler(BoTorchSampler):
        """BoTorchSampler whose candidates come from ``_qlognehvi`` (which needs the search space it samples)."""

        def __init__(self, searcher: "_BayesianSearcher", **kwargs):
            super().__init__(candidates_func=self._candidates, **kwargs)
            self._nas = searcher
            self._nas_space: dict = {}
            self.queue: list[dict] = []  # the rest of a q-batch, for the next trials of the same ask
            self.hyperparameters: dict = {}  # the last fit's GP hyperparameters (raw), where the next one starts

        def sample_relative(self, study, trial, search_space):
            if self.queue and search_space == self._nas_space:
                return self.queue.pop(0)
            self._nas_space, self.queue = search_space, []
            params = super().sample_relative(study, trial, search_space)
            if self.queue:
                from optuna._transform import _SearchSpaceTransform

                trans = _SearchSpaceTransform(search_space)
                self.queue = [trans.untransform(c) for c in self.queue]
            return params

        def _candidates(self, train_x, train_obj, train_con, bounds, pending_x):
            batch = _qlognehvi(self._nas, self._nas_space, train_x, train_obj, train_con, bounds, pending_x,
                               q=self._nas._remaining())
            self.queue = [c.cpu().numpy() for c in batch[1:]]
            return batch[:1]

    return NasBoTorchSampler


def _finite_columns(Y):
    """Non-finite values replaced by the worst finite value of their column (BoTorch maximizes)."""
    import torch

    Y = Y.clone()
    for j in range(Y.shape[-1]):
        column = Y[:, j]
        bad = ~torch.isfinite(column)
        if bad.any():
            finite = column[~bad]
            column[bad] = finite.min() if len(finite) else 0.0
    return Y


def _qlognehvi(searcher, search_space, train_x, train_obj, train_con, bounds, pending_x, q: int = 1):
    """``q`` candidates (in BoTorchSampler's encoding) maximizing qLogNEHVI (qLogNEI for one objective), chosen
    by BoTorch's sequential greedy q-batch optimization: one model fit per ask, whatever its batch size."""
    import torch
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
    from botorch.acquisition.multi_objective.objective import IdentityMCMultiOutputObjective
    from botorch.acquisition.objective import GenericMCObjective
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from botorch.optim import optimize_acqf, optimize_acqf_discrete
    from botorch.sampling import SobolQMCNormalSampler
    from botorch.utils.transforms import normalize, unnormalize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    o = searcher.options
    train_obj = _finite_columns(train_obj)
    violation = train_con.clamp(min=0).sum(-1).numpy() if train_con is not None else None
    rows = torch.from_numpy(history_rows(-train_obj.numpy(), violation, int(o["max_history"])))
    train_x, train_obj = train_x[rows], train_obj[rows]
    train_con = _finite_columns(-train_con[rows]).neg() if train_con is not None else None
    n_obj = train_obj.shape[-1]
    train_y = train_obj if train_con is None else torch.cat([train_obj, train_con], dim=-1)
    X = normalize(train_x, bounds=bounds)
    pending = normalize(pending_x, bounds=bounds) if pending_x is not None and len(pending_x) else None
    model = SingleTaskGP(X, train_y, outcome_transform=Standardize(m=train_y.shape[-1]))
    sampler_ = searcher._study.sampler
    with torch.no_grad():  # warm start from the previous fit: a few L-BFGS steps instead of a hundred
        for name, p in model.named_parameters():
            previous = sampler_.hyperparameters.get(name)
            if previous is not None and previous.shape == p.shape:
                p.copy_(previous)
    # L-BFGS capped: uncapped it runs ~900 steps on NAS-Bench-201's one-hot genes (22 s at 100 subnets, 0.8 s at
    # 100 steps, for a marginal likelihood 6% lower), and the warm start carries the optimization on over asks
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model),
                     optimizer_kwargs={"options": {"maxiter": int(o["fit_iterations"])}})
    sampler_.hyperparameters = {name: p.detach().clone() for name, p in model.named_parameters()}
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([int(o["mc_samples"])]))
    constraints = None
    if train_con is not None:  # outcome n_obj + i is constraint i, feasible where <= 0
        constraints = [(lambda Z, i=i: Z[..., n_obj + i]) for i in range(train_con.shape[-1])]
    if n_obj == 1:
        objective = GenericMCObjective(lambda Z, X=None: Z[..., 0]) if constraints else None
        acqf = qLogNoisyExpectedImprovement(model=model, X_baseline=X, sampler=sampler, objective=objective,
                                            constraints=constraints, X_pending=pending, prune_baseline=True)
    else:
        objective = IdentityMCMultiOutputObjective(outcomes=list(range(n_obj))) if constraints else None
        ref_point = (train_obj.min(dim=0).values - 1e-8).tolist()  # the worst observed value of each objective
        acqf = qLogNoisyExpectedHypervolumeImprovement(model=model, ref_point=ref_point, X_baseline=X,
                                                       sampler=sampler, objective=objective, constraints=constraints,
                                                       X_pending=pending, prune_baseline=True)
    choices = searcher._encoded_candidates(search_space)
    if choices is not None:
        q = min(q, len(choices))
        candidate, _ = optimize_acqf_discrete(acqf, q=q, choices=normalize(choices, bounds=bounds),
                                              max_batch_size=BOTORCH_CHUNK, unique=True)
    else:
        unit = torch.stack([torch.zeros(X.shape[-1], dtype=X.dtype), torch.ones(X.shape[-1], dtype=X.dtype)])
        candidate, _ = optimize_acqf(acqf, bounds=unit, q=q, num_restarts=int(o["num_restarts"]),
                                     raw_samples=int(o["raw_samples"]),
                                     options={"batch_limit": 5, "init_batch_limit": BOTORCH_CHUNK, "maxiter": 200},
                                     sequential=True)
    return unnormalize(candidate.detach(), bounds=bounds)


@register_searcher("botorch")
class BoTorchSearcher(_BayesianSearcher):
    """BoTorch's qLogNEHVI (qLogNEI for one objective) through optuna-integration's BoTorchSampler."""

    defaults = {**_BayesianSearcher.shared_defaults, "max_history": 200, "mc_samples": 128, "num_restarts": 10,
                "raw_samples": 512, "candidates": 512, "fit_iterations": 100}
    presets = {"optuna-integration": {"mc_samples": 256, "num_restarts": 20, "raw_samples": 1024,
                                      "fit_iterations": 100_000,
                                      "acquisition_search": "optimizer", "encoding": "categorical",
                                      "max_history": MAX_HISTORY["botorch"]}}  # qnehvi_candidates_func's settings
    option_specs = {**_BayesianSearcher.shared_specs, "max_history": _history_spec("botorch"),
                    "mc_samples": _bounded(8, 4096), "num_restarts": _bounded(1, 200),
                    "raw_samples": _bounded(8, 100_000), "fit_iterations": _bounded(1, 100_000)}

    def _check_options(self) -> None:
        if not (_installed("botorch") and _installed("optuna_integration")):
            raise InvalidInput(f"the botorch searcher needs BoTorch: {INSTALL_BO}")
        super()._check_options()

    def _model_bytes(self, n: int) -> float:
        return 8e6 * n  # measured: 1.2 GB peak at 200 subnets, 3.2 GB at 500 (NAS-Bench-201, 2 objectives)

    def _sampler(self, optuna):
        return _botorch_sampler_class()(self, seed=self.seed, n_startup_trials=int(self.options["n_startup_trials"]),
                                        consider_running_trials=self._batch() > 1)

    def _sampler_state(self) -> dict:
        s = self._study.sampler
        hyper = {name: [list(t.shape), t.reshape(-1).tolist()] for name, t in s.hyperparameters.items()}
        return {"seed": s._seed, "independent": _random_state(s._independent_sampler._rng.rng),
                "hyperparameters": hyper}

    def _load_sampler_state(self, state: dict) -> None:
        import torch

        s = self._study.sampler
        s._seed = state["seed"]
        _set_random_state(s._independent_sampler._rng.rng, state["independent"])
        s.hyperparameters = {name: torch.tensor(values, dtype=torch.float64).reshape(shape)
                             for name, (shape, values) in state["hyperparameters"].items()}
