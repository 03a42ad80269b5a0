"""``matrixcoder ingest``."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from matrixcoder.console import print_table
from matrixcoder.corpus.ingest import ingest_paths
from matrixcoder.errors import InputError
from matrixcoder.options import ForceOption

__all__ = ["ingest"]


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (txt, md, html, pdf, docx).")],
    out: Annotated[Path, typer.Option("--out", help="Corpus folder to write.")],
    metadata: Annotated[Path | None, typer.Option(help="CSV with columns file, alliance.")] = None,
    alliances: Annotated[Path | None, typer.Option(help="Alliance list (default: labels/alliances.csv).")] = None,
    follow_symlinks: Annotated[
        bool, typer.Option("--follow-symlinks", help="Read files behind symbolic links inside the folders (skipped by default).")
    ] = False,
    force: ForceOption = False,
) -> None:
    """Read documents into a corpus of sentence units with character offsets.

    Files that cannot be read are reported one per line and the rest is ingested;
    the exit code is then 2.
    """
    result = ingest_paths(paths, out, metadata=metadata, alliances=alliances, force=force, follow_symlinks=follow_symlinks)
    for note in result.notes:
        print(f"matrixcoder: note: {note}", file=sys.stderr)
    if not result.written:
        for source, problem in result.failures:
            print(f"matrixcoder: error: {source}: {problem}", file=sys.stderr)
        raise InputError(", ".join(str(p) for p in paths), "no document could be ingested; nothing written")
    formats = Counter(d.format for d in result.documents)
    languages = Counter(d.language for d in result.documents)
    alliances_found = {d.alliance for d in result.documents if d.alliance}
    print_table(
        f"Corpus written to {out}",
        ["documents", "units", "alliances", "formats", "languages"],
        [
            [
                len(result.documents),
                len(result.units),
                len(alliances_found),
                ", ".join(f"{k} {v}" for k, v in sorted(formats.items())),
                ", ".join(f"{k} {v}" for k, v in languages.most_common()),
            ]
        ],
    )
    unattributed = [d.doc_id for d in result.documents if not d.alliance]
    if unattributed:
        print(f"no alliance found for {len(unattributed)} document(s): {', '.join(unattributed)}", file=sys.stderr)
    for source, problem in result.failures:
        print(f"matrixcoder: error: {source}: {problem}", file=sys.stderr)
    if result.failures:
        raise typer.Exit(2)
