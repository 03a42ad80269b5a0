"""``python -m matrixcoder`` runs the CLI."""

from matrixcoder.cli import main

main()
