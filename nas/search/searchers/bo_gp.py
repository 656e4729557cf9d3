"""The ``gp`` searcher: Optuna's GPSampler, fitted on at most ``max_history`` subnets, scoring candidate pools
(the shared machinery, history cap and resume are in ``bayesian.py``)."""

from __future__ import annotations

import functools

from search_spaces.errors import InvalidInput

from .._searcher import register_searcher
from ..options import flag
from .bayesian import CHUNK, MAX_HISTORY, _BayesianSearcher, _bounded, _history_spec, _random_state, _set_random_state
from .optuna_search import _import_optuna

__all__ = ["GPSearcher"]

class _KernelParams:
    """What GPSampler warm-starts the next fit from (its GP minus the O(n^2) matrices it would otherwise keep)."""

    __slots__ = ("inverse_squared_lengthscales", "kernel_scale", "noise_var")

    def __init__(self, inverse_squared_lengthscales, kernel_scale, noise_var):
        self.inverse_squared_lengthscales = inverse_squared_lengthscales
        self.kernel_scale = kernel_scale
        self.noise_var = noise_var

    @classmethod
    def of(cls, gpr) -> "_KernelParams":
        return cls(*(getattr(gpr, a).detach().clone() for a in cls.__slots__))

    def to_json(self) -> list:
        return [self.inverse_squared_lengthscales.tolist(), float(self.kernel_scale), float(self.noise_var)]

    @classmethod
    def from_json(cls, value: list) -> "_KernelParams":
        import torch

        return cls(torch.tensor(value[0], dtype=torch.float64), torch.tensor(value[1], dtype=torch.float64),
                   torch.tensor(value[2], dtype=torch.float64))


@functools.cache
def _gp_sampler_class():
    optuna = _import_optuna()
    base = optuna.samplers.GPSampler
    if not all(hasattr(base, m) for m in ("_sample_relative_impl", "_optimize_acqf")):
        raise InvalidInput(f"the gp searcher needs optuna>=5.0 (installed: {optuna.__version__}): "
                           "pip install -U optuna")

    class NasGPSampler(base):
        """GPSampler fitted on ``max_history`` subnets at most, scoring every candidate in small spaces."""

        def __init__(self, searcher: "_BayesianSearcher", **kwargs):
            super().__init__(**kwargs)
            self._nas = searcher

        def _sample_relative_impl(self, study, completed_trials, running_trials, search_space):
            completed = self._nas._history(completed_trials)
            try:
                return super()._sample_relative_impl(study, completed, running_trials, search_space)
            finally:
                for attr in ("_gprs_cache_list", "_constraints_gprs_cache_list"):
                    cache = getattr(self, attr)
                    if cache is not None:
                        setattr(self, attr, [_KernelParams.of(g) for g in cache])

        def _optimize_acqf(self, acqf, best_params):
            chosen = self._nas._score_candidates(acqf)
            return super()._optimize_acqf(acqf, best_params) if chosen is None else chosen

    return NasGPSampler


@functools.cache


@register_searcher("gp")
class GPSearcher(_BayesianSearcher):
    """Optuna's GPSampler (logEHVI / logEI, constraints as probability of feasibility)."""

    defaults = {**_BayesianSearcher.shared_defaults, "max_history": 300, "deterministic": False, "mc_samples": 128}
    presets = {"optuna": {"max_history": MAX_HISTORY["gp"], "acquisition_search": "optimizer",
                          "encoding": "categorical"}}  # Optuna's GPSampler as it comes (on all the history)
    option_specs = {**_BayesianSearcher.shared_specs, "max_history": _history_spec("gp"), "deterministic": flag(),
                    "mc_samples": _bounded(8, 4096)}

    def _model_bytes(self, n: int) -> float:
        # GPSampler keeps an n x n x genes float64 tensor per GP (one per objective and constraint), plus the
        # n x candidates kernel of the pool
        return 8.0 * n * (n * self.space.n_genes * (self.n_objectives + max(self.n_constraints, 1)) + 2 * CHUNK)

    def _sampler(self, optuna):
        sampler = _gp_sampler_class()(self, seed=self.seed, n_startup_trials=int(self.options["n_startup_trials"]),
                                      deterministic_objective=bool(self.options["deterministic"]),
                                      warn_independent_sampling=False)
        # the QMC samples of (q)LogEHVI and qLogEI (Optuna's default 128, BoTorch's too)
        sampler._n_qmc_samples_ehvi = sampler._n_qmc_samples_qei = int(self.options["mc_samples"])
        return sampler

    def _sampler_state(self) -> dict:
        s = self._study.sampler
        caches = {a: None if getattr(s, a) is None else [k.to_json() for k in getattr(s, a)]
                  for a in ("_gprs_cache_list", "_constraints_gprs_cache_list")}
        return {"rng": _random_state(s._rng.rng), "independent": _random_state(s._independent_sampler._rng.rng),
                **caches}

    def _load_sampler_state(self, state: dict) -> None:
        s = self._study.sampler
        _set_random_state(s._rng.rng, state["rng"])
        _set_random_state(s._independent_sampler._rng.rng, state["independent"])
        for a in ("_gprs_cache_list", "_constraints_gprs_cache_list"):
            setattr(s, a, None if state[a] is None else [_KernelParams.from_json(v) for v in state[a]])
