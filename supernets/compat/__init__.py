"""Interoperability with other projects' checkpoints (key translation per family)."""
