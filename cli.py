"""The ``matrixcoder`` command line. Each command is a thin wrapper over a library function."""

from __future__ import annotations

import sys

import click
import typer

from matrixcoder.errors import InputError
from matrixcoder.labels.commands import codebook_app
from matrixcoder.labels.interop_commands import codebook_export, export_app, import_app
from matrixcoder.corpus.commands import ingest
from matrixcoder.corpus.harvest.commands import harvest
from matrixcoder.training.commands import train
from matrixcoder.inference.commands import predict, score, suggest
from matrixcoder.evaluation.commands import agreement, diagnose, evaluate, report_app

__all__ = ["app", "main"]

app = typer.Typer(
    help="Code European Universities Alliances documents against the micro-credential analysis matrix.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
codebook_app.command("export")(codebook_export)
codebook_app.command("diagnose")(diagnose)
app.add_typer(codebook_app, name="codebook")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.command()(ingest)
app.command()(harvest)
app.command()(train)
app.command()(suggest)
app.command()(predict)
app.command()(score)
app.command()(evaluate)
app.command()(agreement)
app.add_typer(report_app, name="report")


def main() -> None:
    """Run the CLI; bad input becomes one line on stderr and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except InputError as exc:
        print(f"matrixcoder: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        print("matrixcoder: aborted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
