"""Measuring subnets: BN recalibration, accuracy, and datasets for predictors.

``measured_accuracy_objective`` (a search objective) lives in ``nas.evaluate.objective``; it is not
imported here so that ``nas.evaluate`` does not pull in the search package.
"""

from .accuracy import EvalSet, evaluate_archs, subnet_accuracy
from .bn_recalibration import recalibrate_bn
from .dataset import dataset_paths, predictor_dataset, write_predictor_dataset
from .evalset import SPLITS, build_evalset, calibration_batches, training_info
from .measure import EvaluationResult, evaluate_checkpoint

__all__ = ["recalibrate_bn", "EvalSet", "evaluate_archs", "subnet_accuracy", "build_evalset", "calibration_batches",
           "training_info", "SPLITS", "predictor_dataset", "write_predictor_dataset", "dataset_paths",
           "EvaluationResult", "evaluate_checkpoint"]
