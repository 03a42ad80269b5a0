"""Every usage mistake on every command: one line on stderr naming the command, exit code 2.

The commands are discovered from ``matrixcoder.cli.app``, so a new command or option is
checked without touching this file. Each mistake is the only one on its command line (every
other required parameter gets a harmless value), so click stops at it before the command runs.
"""

from __future__ import annotations

import datetime
import enum
import inspect
import typing
from pathlib import Path

import pytest
import typer.main
from cli_runner import run_cli
from typer.core import TyperGroup

from matrixcoder.cli import app
from matrixcoder.encoding import embeddings
from matrixcoder.training import default_model

ROOT = typer.main.get_command(app)


def _leaves(group, prefix=()):
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if hasattr(command, "commands"):
            yield from _leaves(command, path)
        else:
            yield path, command


def _groups(group, prefix=()):
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield (*prefix, name), command
            yield from _groups(command, (*prefix, name))


COMMANDS = dict(_leaves(ROOT))
GROUPS = dict(_groups(ROOT))


def _is_option(param) -> bool:
    return param.param_type_name == "option"


def _hints(command) -> dict[str, object]:
    """The Python type of each parameter, ``Optional`` and ``Annotated`` removed."""
    function = inspect.unwrap(command.callback)
    hints = {}
    for name, hint in typing.get_type_hints(function).items():
        arguments = [a for a in typing.get_args(hint) if a is not type(None)]
        if typing.get_origin(hint) is typing.Union and len(arguments) == 1:
            hint = arguments[0]
        hints[name] = hint
    return hints


def _harmless(hint: object, param, tmp_path: Path) -> str:
    """A value click accepts for a parameter of type ``hint`` (a path that does not exist, by default)."""
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return str(next(iter(hint)).value)
    if hint in (int, float):
        return str(param.min if getattr(param, "min", None) is not None else 1)
    if hint in (datetime.datetime, datetime.date):
        return "2024-01-01"
    return str(tmp_path / f"{param.name}.missing")


def _required_line(command, tmp_path: Path, leave_out: str | None = None) -> list[str]:
    """Harmless values for every required parameter except ``leave_out``."""
    hints = _hints(command)
    line = []
    for param in command.params:
        if not param.required or param.name == leave_out:
            continue
        value = _harmless(hints.get(param.name), param, tmp_path)
        line += [param.opts[0], value] if _is_option(param) else [value]
    return line


def _bad_values(command) -> list[tuple[str, str, str]]:
    """(option, bad value, why) for each option with choices, a number, a date or a minimum."""
    hints = _hints(command)
    found = []
    for param in command.params:
        if not _is_option(param) or getattr(param, "is_flag", False):
            continue
        hint = hints.get(param.name)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            found.append((param.opts[0], "no-such-choice", "choice"))
        elif hint in (int, float):
            found.append((param.opts[0], "twelve", "number"))
        elif hint in (datetime.datetime, datetime.date):
            found.append((param.opts[0], "31/12/2024", "date"))
        if getattr(param, "min", None) is not None:
            found.append((param.opts[0], str(param.min - 1), "below the minimum"))
        if getattr(param, "max", None) is not None:
            found.append((param.opts[0], str(param.max + 1), "above the maximum"))
    return found


MISSING = [
    pytest.param(path, param.name, id=f"{' '.join(path)}-without-{param.name}")
    for path, command in COMMANDS.items()
    for param in command.params
    if param.required
]
BAD = [
    pytest.param(path, option, value, id=f"{' '.join(path)}-{option}-{why}")
    for path, command in COMMANDS.items()
    for option, value, why in _bad_values(command)
]


@pytest.fixture(autouse=True)
def nothing_runs(monkeypatch):
    """A usage mistake must stop before any work: loading an encoder or a model fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the command ran despite a usage mistake")

    monkeypatch.setattr(embeddings, "load_encoder", refuse)
    monkeypatch.setattr(default_model, "resolve_model", refuse)


def assert_usage_error(code: int, err: str, command_path: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{command_path}: error: "), lines[0]
    assert lines[0].endswith(f"(see '{command_path} --help')"), lines[0]
    return lines[0]


def test_the_walk_finds_every_command():
    assert {("ingest",), ("train",), ("score",), ("codebook", "export"), ("import", "qdpx"), ("report", "approaches")} <= set(COMMANDS)
    assert {("codebook",), ("import",), ("export",), ("report",)} <= set(GROUPS)
    assert len(MISSING) >= 20 and len(BAD) >= 10


@pytest.mark.parametrize(("path", "name"), MISSING)
def test_missing_required_parameter_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path, path, name):
    command = COMMANDS[path]
    param = next(p for p in command.params if p.name == name)
    code, _, err = run_cli(monkeypatch, capsys, *path, *_required_line(command, tmp_path, leave_out=name))
    line = assert_usage_error(code, err, "matrixcoder " + " ".join(path))
    shown = param.opts[0] if _is_option(param) else name
    assert "Missing" in line and shown.lower() in line.lower(), line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("path", "option", "value"), BAD)
def test_bad_option_value_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path, path, option, value):
    command = COMMANDS[path]
    code, _, err = run_cli(monkeypatch, capsys, *path, *_required_line(command, tmp_path), option, value)
    line = assert_usage_error(code, err, "matrixcoder " + " ".join(path))
    assert f"'{option}'" in line or option in line.split(":")[2], line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", list(COMMANDS), ids=" ".join)
def test_unknown_option_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path, path):
    command = COMMANDS[path]
    code, _, err = run_cli(monkeypatch, capsys, *path, *_required_line(command, tmp_path), "--no-such-option")
    line = assert_usage_error(code, err, "matrixcoder " + " ".join(path))
    assert "--no-such-option" in line


def test_unknown_command_is_one_line_and_exit_2(monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, "no-such-command")
    assert "no-such-command" in assert_usage_error(code, err, "matrixcoder")


# A group that routes unknown names to a default command (``review CORPUS`` = ``review serve
# CORPUS``) has no unknown subcommands.
PLAIN_GROUPS = [path for path, group in GROUPS.items() if type(group).parse_args is TyperGroup.parse_args]


@pytest.mark.parametrize("group", PLAIN_GROUPS, ids=" ".join)
def test_unknown_subcommand_is_one_line_and_exit_2(monkeypatch, capsys, group):
    code, _, err = run_cli(monkeypatch, capsys, *group, "no-such-command")
    assert "no-such-command" in assert_usage_error(code, err, "matrixcoder " + " ".join(group))


def test_no_arguments_shows_help_and_exits_2(monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys)
    assert "missing command" in assert_usage_error(code, err, "matrixcoder")
    assert "Usage" in out


@pytest.mark.parametrize("group", list(GROUPS), ids=" ".join)
def test_group_without_subcommand_exits_2(monkeypatch, capsys, group):
    code, out, err = run_cli(monkeypatch, capsys, *group)
    assert_usage_error(code, err, "matrixcoder " + " ".join(group))
    assert "Usage" in out


def test_help_is_not_an_error(monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys, "ingest", "--help")
    assert code == 0 and "Usage" in out and err == ""
