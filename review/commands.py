"""``matrixcoder review CORPUS`` (the web app) and ``matrixcoder review export DB``."""

from __future__ import annotations

import enum
import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from matrixcoder.errors import InputError
from matrixcoder.fileio import check_output_file
from matrixcoder.labels.codebook import load_codebook
from matrixcoder.options import CodebookOption, ForceOption, ModelOption

__all__ = ["review_app"]


class _ServeByDefault(TyperGroup):
    """``review CORPUS …`` means ``review serve CORPUS …``; ``review export …`` stays itself."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


review_app = typer.Typer(
    cls=_ServeByDefault,
    help=(
        "Review suggestions in the browser: 'matrixcoder review CORPUS --option …' starts the app "
        "(the same as 'review serve'); 'matrixcoder review export DB' writes the decisions as coded units."
    ),
    no_args_is_help=True,
    add_completion=False,
)


class ExportFormat(str, enum.Enum):
    jsonl = "jsonl"
    qdpx = "qdpx"


def _default_coder() -> str:
    try:
        return getpass.getuser() or "analyst"
    except Exception:  # no login name (containers)
        return "analyst"


@review_app.command("serve")
def serve(
    corpus: Annotated[Path, typer.Argument(help="Corpus folder (matrixcoder ingest/harvest), or documents to ingest on the fly.")],
    model: ModelOption = None,
    coder: Annotated[str | None, typer.Option("--coder", help="Your name as a coder (default: your login name).")] = None,
    db: Annotated[Path, typer.Option("--db", help="Review database (SQLite); created if missing, shared by several coders.")] = Path(
        "review.db"
    ),
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; anything but loopback requires the access token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0: any free port).")] = 8765,
    token: Annotated[
        str | None,
        typer.Option("--token", help="Access token every request must carry (default: none on loopback, a random one elsewhere)."),
    ] = None,
    examples: Annotated[
        Path | None,
        typer.Option(
            "--examples", help="Hand-coded units that 'Retrain' learns from besides your decisions (default: the shipped examples)."
        ),
    ] = None,
    codebook: CodebookOption = None,
) -> None:
    """Start the review app: documents, suggestions per sentence, keyboard decisions, an active-learning queue.

    Prints the app's URL on a line of its own; stop it with Ctrl-C. Every decision is saved at once in --db.
    """
    from matrixcoder.review.server import open_session
    from matrixcoder.review.server import serve as run_server

    if not 0 <= port <= 65535:
        raise InputError("--port", f"{port} is not a port number (0-65535)")
    if token is not None and len(token) < 8:
        raise InputError("--token", "too short; use at least 8 characters")
    if examples is not None and not examples.is_file():
        raise InputError(examples, "examples file not found")
    coder = (coder or _default_coder()).strip()
    if not coder:
        raise InputError("--coder", "must not be empty")
    session = open_session(corpus, db=db, coder=coder, codebook=load_codebook(codebook), model=model, examples=examples)
    print(
        f"Reviewing {len(session.documents)} documents ({len(session.units)} units) as coder '{coder}' with model "
        f"{session.model.version}; decisions go to {db}",
        file=sys.stderr,
    )
    run_server(session, host=host, port=port, token=token)


@review_app.command("export")
def export(
    db: Annotated[Path, typer.Argument(help="Review database written by 'matrixcoder review'.")],
    output_format: Annotated[
        ExportFormat, typer.Option("--format", help="Coded units (JSON Lines, coder = reviewer) or a REFI-QDA project.")
    ],
    out: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """Write every reviewer's decisions as coded units (for agreement and train) or as a .qdpx (for NVivo & co)."""
    from matrixcoder.review.export import export_jsonl, export_qdpx
    from matrixcoder.review.store import ReviewStore

    check_output_file(out, force=force, inputs=[db])
    book = load_codebook(codebook)
    store = ReviewStore.open_existing(db)
    try:
        unknown = sorted({d.code for d in store.decisions() if d.code and d.code not in set(book.label_ids)})
        if unknown:
            raise InputError(db, f"decisions use code(s) outside codebook {book.version}: {', '.join(unknown[:5])}")
        if not store.decisions():
            raise InputError(db, "holds no decisions yet; nothing to export")
        if output_format is ExportFormat.jsonl:
            count = export_jsonl(store, out)
            print(f"Wrote {count} coded units by {len(store.coders())} reviewer(s) to {out}", file=sys.stderr)
        else:
            count = export_qdpx(store, book, out)
            print(f"Wrote a REFI-QDA project with {count} codings by {len(store.coders())} reviewer(s) to {out}", file=sys.stderr)
    finally:
        store.close()
