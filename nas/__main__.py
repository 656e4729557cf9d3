"""``python -m nas`` runs the CLI."""

from .cli import main

main()
