"""Bridges to other NAS / HPO tools (optional extras)."""
