"""Sweeping training hyperparameters with Ray Tune (Optuna's sampler, ASHA's early stopping).

Imports nothing of Ray until a sweep runs."""

from .params import KINDS, TRAIN_SETTINGS, Param, parse_param
from .sweep import MAX_TRIALS, METRICS, TuneResult, tune_training

__all__ = ["tune_training", "TuneResult", "METRICS", "MAX_TRIALS", "Param", "parse_param", "KINDS", "TRAIN_SETTINGS"]
