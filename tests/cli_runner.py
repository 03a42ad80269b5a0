"""Run ``matrixcoder`` in the test's own process, as a user would from the shell.

In-process (not a subprocess) so that the test's monkeypatching (home folder, fake encoder)
reaches the command, and so that a run costs milliseconds instead of a Python start-up.
"""

from __future__ import annotations

import sys

import pytest

from matrixcoder.cli import main

__all__ = ["run_cli"]


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """``matrixcoder ARGS``: its exit code, stdout and stderr."""
    monkeypatch.setattr(sys, "argv", ["matrixcoder", *map(str, args)])
    with pytest.raises(SystemExit) as stop:
        main()
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err
