"""``matrixcoder codebook ...`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from matrixcoder.console import console, print_table
from matrixcoder.labels.codebook import APPROACH_DIMENSION, load_codebook
from matrixcoder.labels.coded_units import read_coded_units
from matrixcoder.labels.counts import coding_summary, label_counts
from matrixcoder.labels.rulings import DEFAULT_GUIDE, read_rulings, rulings_by_code
from matrixcoder.options import CodebookOption

__all__ = ["codebook_app"]

codebook_app = typer.Typer(help="Show and check the analysis-matrix codebook.", no_args_is_help=True)

DEFAULT_EXAMPLES = Path(__file__).resolve().parent / "examples.jsonl"


@codebook_app.command("show")
def show(
    codebook: CodebookOption = None,
    rules: Annotated[bool, typer.Option("--rules", help="Also print the coding rulings about each code (from the coding guide).")] = False,
) -> None:
    """Print the codebook grouped by dimension, with its version and content hash."""
    book = load_codebook(codebook)
    if rules:
        _show_rulings(book)
        return
    console.print(f"{book.name} — version {book.version}, hash {book.content_hash[:12]}, {len(book.labels)} labels")
    for dimension in sorted(book.dimensions, key=lambda d: d.order):
        rows = [(c.id, c.name, c.indicator) for c in book.codes if c.dimension == dimension.id]
        if not rows:
            rows = [("—", "(no codes)", dimension.note or dimension.description)]
        print_table(f"{dimension.order}. {dimension.name}", ["id", "name", "indicator"], rows)
    rows = [(a.id, a.name, a.indicator) for a in book.approach_types]
    print_table(book.dimension_name(APPROACH_DIMENSION), ["id", "name", "definition"], rows)


def _show_rulings(book) -> None:
    rulings = read_rulings()
    about = rulings_by_code(rulings, book.label_ids)
    console.print(f"{book.name}: {len(rulings)} coding rulings from {DEFAULT_GUIDE}")
    print_table(
        "Rulings for every code",
        ["ruling", "text"],
        [[r.id, r.text] for r in rulings if not r.codes],
    )
    for dimension in [*sorted(book.dimensions, key=lambda d: d.order)]:
        rows = [[c.id, c.name, r.id, r.text] for c in book.codes if c.dimension == dimension.id for r in about[c.id]]
        if rows:
            print_table(f"{dimension.order}. {dimension.name}", ["code", "name", "ruling", "text"], rows)
    rows = [[a.id, a.name, r.id, r.text] for a in book.approach_types for r in about[a.id]]
    print_table(book.dimension_name(APPROACH_DIMENSION), ["code", "name", "ruling", "text"], rows)


@codebook_app.command("counts")
def counts(
    examples: Annotated[Path, typer.Argument(help="Coded units (JSON Lines).")] = DEFAULT_EXAMPLES,
    codebook: CodebookOption = None,
) -> None:
    """Count coded units per label and coder, and the share of units with no code."""
    book = load_codebook(codebook)
    units = read_coded_units(examples, book)
    summary = coding_summary(units)
    print_table(
        f"Coding in {examples}",
        ["coder", "documents", "units", "no code", "codes per coded unit"],
        [
            [row.Index, row.documents, row.units, f"{row.empty_share:.0%}", f"{row.codes_per_coded_unit:.2f}"]
            for row in summary.itertuples()
        ],
    )
    table = label_counts(units, book)
    print_table(
        "Positive units per label",
        ["label", "name", *table.columns],
        [[label, book.label(label).name, *row] for label, row in zip(table.index, table.values.tolist(), strict=False)],
    )
