"""What a subnet will score: predictors fitted on measured subnets, over encoded architectures."""

from . import ensemble, kernel, linear, mlp, trees  # noqa: F401  (register the predictor kinds)
from ._base import (
    DERIVED,
    FORMAT,
    MAX_SEED,
    PREDICTORS,
    Option,
    Predictor,
    check_output_path,
    check_seed,
    create_predictor,
    list_predictor_kinds,
    load_predictor,
    register_predictor,
)
from ._options import describe_options
from .data import LabelledSubnets, read_subnets
from .metrics import kendall_tau, quality, rmse, spearman_rho, top_k_precision

__all__ = ["DERIVED", "FORMAT", "MAX_SEED", "PREDICTORS", "Option", "Predictor", "check_output_path", "check_seed",
           "create_predictor", "list_predictor_kinds", "load_predictor", "register_predictor", "LabelledSubnets",
           "read_subnets", "kendall_tau", "quality", "rmse", "spearman_rho", "top_k_precision", "describe_options"]
