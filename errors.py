"""The one error type for bad input, so every command can report it the same way."""

from __future__ import annotations

from pathlib import Path

__all__ = ["InputError"]


class InputError(Exception):
    """Bad input that the user can fix: the CLI prints it as one line and exits with 2.

    Args:
        source: The file (or other input) at fault.
        problem: What is wrong with it, in a few words.
    """

    def __init__(self, source: str | Path, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")
