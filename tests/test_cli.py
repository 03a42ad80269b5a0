import typer.main
from typer.testing import CliRunner

from matrixcoder.cli import app


def _command_paths(group, prefix=()):
    for name, command in group.commands.items():
        path = (*prefix, name)
        yield path
        if hasattr(command, "commands"):
            yield from _command_paths(command, path)


def test_every_command_has_help():
    root = typer.main.get_command(app)
    paths = list(_command_paths(root))
    assert ("ingest",) in paths and ("codebook", "show") in paths
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.output and len(result.output.splitlines()) > 3
