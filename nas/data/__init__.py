"""Image data for training and evaluation, used by both ``nas.train`` and ``nas.evaluate``: sources
(.npz, ImageFolder trees and their .tar.gz, synthetic), the held-out split, normalization statistics
and batched augmentation."""

from .augment import augment, normalize, resize
from .images import IMAGE_SUFFIXES, SPLIT_SEED, ImageData, channel_stats, holdout_split, load_images

__all__ = ["ImageData", "load_images", "holdout_split", "channel_stats", "IMAGE_SUFFIXES", "SPLIT_SEED", "augment",
           "normalize", "resize"]
