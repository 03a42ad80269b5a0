"""Commands that connect matrixcoder with the analysts' tools.

``codebook export --format qdc``, ``import qdpx|qdc|labelstudio|prodigy|doccano`` and
``export labelstudio|prodigy|doccano``. Each is a thin wrapper over ``interop.refi_qda``,
``interop.qdpx_import`` and ``interop.annotation_tools``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from matrixcoder.console import console, err_console, print_table
from matrixcoder.errors import InputError
from matrixcoder.fileio import check_output_file, write_jsonl
from matrixcoder.interop import annotation_tools as tools
from matrixcoder.interop.qdpx_import import (
    CrlfCount,
    ImportConfig,
    OverlapRule,
    import_qdpx,
    map_codes,
    read_code_list,
    read_mapping,
    write_mapping,
)
from matrixcoder.interop.refi_qda import write_qdc
from matrixcoder.labels.codebook import load_codebook
from matrixcoder.labels.coded_units import CodedUnit
from matrixcoder.labels.counts import coding_summary
from matrixcoder.labels.rulings import read_rulings
from matrixcoder.options import CodebookOption, ForceOption

__all__ = ["codebook_export", "export_app", "import_app"]

CodedOutput = Annotated[Path, typer.Option("-o", "--output", help="Coded units to write (JSON Lines).")]

import_app = typer.Typer(
    help="Read coding done in NVivo, ATLAS.ti, MAXQDA, QualCoder or annotation tools as coded units.", no_args_is_help=True
)
export_app = typer.Typer(
    help="Write units, with suggested codes as pre-annotations, for Label Studio, Prodigy or doccano.", no_args_is_help=True
)


class CodebookFormat(str, enum.Enum):
    qdc = "qdc"


def codebook_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write, e.g. codebook.qdc.")],
    output_format: Annotated[
        CodebookFormat, typer.Option("--format", help="qdc: REFI-QDA codebook for NVivo, ATLAS.ti, MAXQDA, QualCoder.")
    ] = CodebookFormat.qdc,
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """Write the codebook for QDA software: dimensions as parent codes, codes nested, stable GUIDs."""
    check_output_file(output, force=force)
    book = load_codebook(codebook)
    write_qdc(book, output, read_rulings())
    console.print(f"Wrote {len(book.labels)} codes in {len(book.dimensions) + 1} groups to {output}")


@import_app.command("qdpx")
def import_qdpx_command(
    project: Annotated[Path, typer.Argument(help="REFI-QDA project (.qdpx) exported from the QDA tool.")],
    output: CodedOutput,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="CSV with columns name,code (optionally guid) for renamed or extra codes; code '-' ignores one."),
    ] = None,
    overlap: Annotated[
        OverlapRule,
        typer.Option(
            "--overlap",
            help="A sentence gets a selection's code if: any = they share a character; half = at least half the sentence is selected or at least half the selection lies in it; inside = all of it is selected.",
        ),
    ] = OverlapRule.half,
    sources: Annotated[
        Path | None,
        typer.Option(
            "--sources",
            metavar="DIR",
            help="Folder holding the project's external sources (relative:// or absolute:// paths); they must lie inside it. Without it such sources are refused.",
        ),
    ] = None,
    crlf: Annotated[
        CrlfCount,
        typer.Option("--crlf", help="How positions count \\r\\n: one (ATLAS.ti) or two characters; auto = one for ATLAS.ti projects."),
    ] = CrlfCount.auto,
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """Turn a project's text codings into coded sentence units, one coder per user."""
    check_output_file(output, force=force, inputs=[project])
    book = load_codebook(codebook)
    table = read_mapping(mapping, book) if mapping else None
    result = import_qdpx(project, book, ImportConfig(overlap=overlap, crlf=crlf, sources=sources), table)
    if not result.units:
        raise InputError(project, "no codings on text selections to import")
    _finish(result.units, result.notes, output)


@import_app.command("qdc")
def import_qdc_command(
    codes: Annotated[Path, typer.Argument(help="A REFI-QDA codebook (.qdc) or project (.qdpx).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Mapping CSV to write, review and pass to 'import qdpx --mapping'.")],
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """Draft a code mapping: each code of the file with the codebook id it maps to, if any."""
    check_output_file(output, force=force, inputs=[codes])
    book = load_codebook(codebook)
    matches = list(map_codes(read_code_list(codes), book).values())
    write_mapping(matches, output)
    unmapped = [m for m in matches if m.how == "unmapped" and m.code.codable]
    console.print(
        f"Wrote {len(matches)} codes to {output}; {len(unmapped)} codable ones map to no codebook id (fill in 'code', or '-' to ignore)"
    )


@import_app.command("labelstudio")
def import_labelstudio_command(
    export: Annotated[Path, typer.Argument(help="Label Studio project export in JSON format.")],
    output: CodedOutput,
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """Read reviewed Label Studio annotations as coded units (one coder per annotator)."""
    _import_export(tools.import_labelstudio, export, output, codebook, force)


@import_app.command("prodigy")
def import_prodigy_command(
    export: Annotated[Path, typer.Argument(help="Output of 'prodigy db-out DATASET' (JSONL).")],
    output: CodedOutput,
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """Read accepted Prodigy answers as coded units (one coder per annotator session)."""
    _import_export(tools.import_prodigy, export, output, codebook, force)


@import_app.command("doccano")
def import_doccano_command(
    export: Annotated[Path, typer.Argument(help="doccano export: a .jsonl file, or the .zip with one file per user.")],
    output: CodedOutput,
    coder: Annotated[str | None, typer.Option("--coder", help="Coder name (default: the file name without extension).")] = None,
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """Read reviewed doccano labels as coded units."""
    _import_export(tools.import_doccano, export, output, codebook, force, coder)


def _import_export(
    read: Callable[..., tools.ToolImport], export: Path, output: Path, codebook: Path | None, force: bool, *args: object
) -> None:
    """An annotation tool's export as coded units: the same checks and summary for every tool."""
    check_output_file(output, force=force, inputs=[export])
    result = read(export, load_codebook(codebook), *args)
    _finish(result.units, result.notes, output)


UnitsArgument = Annotated[Path, typer.Argument(help="Units (JSON Lines with doc_id, unit_id, text; start/end kept).")]
PredictionsOption = Annotated[
    Path | None, typer.Option("--predictions", help="Output of 'matrixcoder predict' on the same units: the pre-annotations.")
]
ToolOutput = Annotated[Path, typer.Option("-o", "--output", help="Tasks file to write.")]


@export_app.command("labelstudio")
def export_labelstudio_command(
    units: UnitsArgument,
    output: ToolOutput,
    predictions: PredictionsOption = None,
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """Write Label Studio tasks (JSON, with predictions) and their labelling config (<name>-config.xml)."""
    check_output_file(output, force=force, inputs=[units])
    check_output_file(tools.labelstudio_config_path(output), force=force, inputs=[units])
    book = load_codebook(codebook)
    tasks = tools.read_task_units(units, book, predictions)
    config = tools.export_labelstudio(tasks, book, output)
    console.print(f"Wrote {len(tasks)} tasks to {output} and the labelling config to {config}")


@export_app.command("prodigy")
def export_prodigy_command(
    units: UnitsArgument,
    output: ToolOutput,
    predictions: PredictionsOption = None,
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """Write Prodigy choice tasks (JSONL) with suggested codes pre-selected."""
    check_output_file(output, force=force, inputs=[units])
    book = load_codebook(codebook)
    tasks = tools.read_task_units(units, book, predictions)
    tools.export_prodigy(tasks, book, output)
    console.print(f"Wrote {len(tasks)} tasks to {output}")


@export_app.command("doccano")
def export_doccano_command(
    units: UnitsArgument,
    output: ToolOutput,
    predictions: PredictionsOption = None,
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """Write doccano text-classification JSONL with suggested codes as labels."""
    check_output_file(output, force=force, inputs=[units])
    tasks = tools.read_task_units(units, load_codebook(codebook), predictions)
    tools.export_doccano(tasks, output)
    console.print(f"Wrote {len(tasks)} tasks to {output}")


def _finish(units: list[CodedUnit], notes: list[str], output: Path) -> None:
    for note in notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    write_jsonl(output, (unit.to_json() for unit in units))
    summary = coding_summary(units)
    print_table(
        f"Coded units written to {output}",
        ["coder", "documents", "units", "no code", "codes per coded unit"],
        [
            [row.Index, row.documents, row.units, f"{row.empty_share:.0%}", f"{row.codes_per_coded_unit:.2f}"]
            for row in summary.itertuples()
        ],
    )
