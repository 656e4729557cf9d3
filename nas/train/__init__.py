"""Supernet training: strategies (progressive-shrinking, deps, sandwich), the resumable loop, data,
and the same loop on Ray Train workers."""

from ..data import ImageData, load_images
from .config import TrainConfig, TrainData, prepare_data
from .loop import DistContext, RunFiles, TrainingLoop
from .run import TrainResult, train
from .strategies import STRATEGIES, Strategy, SubnetTask, create_strategy, list_strategies, register_strategy

__all__ = ["train", "TrainResult", "TrainConfig", "TrainData", "prepare_data", "ImageData", "load_images",
           "DistContext", "RunFiles", "TrainingLoop", "STRATEGIES", "Strategy", "SubnetTask", "create_strategy",
           "list_strategies", "register_strategy"]
