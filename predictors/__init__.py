"""What a subnet will score: predictors fitted on measured subnets, over encoded architectures."""

from ._base import (
    FORMAT,
    PREDICTORS,
    Predictor,
    create_predictor,
    list_predictor_kinds,
    load_predictor,
    register_predictor,
)

__all__ = ["FORMAT", "PREDICTORS", "Predictor", "create_predictor", "list_predictor_kinds", "load_predictor",
           "register_predictor"]
