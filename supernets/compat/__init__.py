"""Interoperability with other engines' checkpoints."""

from .ofa import CheckpointError, load_ofa_state_dict, looks_like_ofa, to_ofa_state_dict

__all__ = ["CheckpointError", "load_ofa_state_dict", "looks_like_ofa", "to_ofa_state_dict"]
