"""The ``matrixcoder`` command line. Each command is a thin wrapper over a library function."""

from __future__ import annotations

import sys

import click
import typer
from typer import _click as typer_click

from matrixcoder.corpus.commands import ingest
from matrixcoder.corpus.harvest.commands import harvest
from matrixcoder.errors import InputError
from matrixcoder.evaluation.commands import agreement, diagnose, evaluate, report_app
from matrixcoder.inference.commands import predict, score, suggest
from matrixcoder.interop.commands import codebook_export, export_app, import_app
from matrixcoder.labels.commands import codebook_app
from matrixcoder.review.commands import review_app
from matrixcoder.training.commands import train

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
app.add_typer(review_app, name="review")


# Typer ships its own copy of click (``typer._click``); errors may come from either copy.
_CLICK_EXCEPTIONS = (click.ClickException, typer_click.ClickException)
_EXITS = (click.exceptions.Exit, typer.Exit)
_ABORTS = (click.exceptions.Abort, typer.Abort)


def _usage_line(exc: click.ClickException | typer_click.ClickException) -> str:
    """One line for a usage mistake: the command, what is wrong, and where to read more."""
    context = getattr(exc, "ctx", None)
    command = context.command_path if context is not None else "matrixcoder"
    message = " ".join(exc.format_message().split())
    if isinstance(exc, typer_click.exceptions.NoArgsIsHelpError):
        message = "missing command or arguments"
    return f"{command}: error: {message} (see '{command} --help')"


def main() -> None:
    """Run the CLI; bad input and usage mistakes become one line on stderr and exit code 2."""
    try:
        code = app(standalone_mode=False, prog_name="matrixcoder")
    except InputError as exc:
        print(f"matrixcoder: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except _EXITS as exc:
        sys.exit(exc.exit_code)
    except _CLICK_EXCEPTIONS as exc:
        print(_usage_line(exc), file=sys.stderr)
        sys.exit(2 if exc.exit_code in (1, 2) else exc.exit_code)
    except _ABORTS:
        print("matrixcoder: aborted", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        print("matrixcoder: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
