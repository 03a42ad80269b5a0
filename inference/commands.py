"""``matrixcoder predict``, ``suggest`` and ``score``."""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from matrixcoder.console import console, print_table
from matrixcoder.errors import InputError
from matrixcoder.fileio import check_output_file, check_output_folder, read_jsonl
from matrixcoder.labels.codebook import Codebook, load_codebook
from matrixcoder.options import CodebookOption, ForceOption, ModelOption

__all__ = ["predict", "score", "suggest"]

# Evidence sentences are shown whole in JSON; the table keeps them to a readable length.
_TABLE_TEXT = 160


class OutputFormat(str, enum.Enum):
    table = "table"
    json = "json"
    qdpx = "qdpx"


class EngineName(str, enum.Enum):
    """Where ``score`` runs (``--engine``)."""

    local = "local"
    spark = "spark"


def predict(
    units: Annotated[Path, typer.Argument(help="JSON Lines with 'unit_id' and 'text' on each line.")],
    model: ModelOption = None,
    codebook: CodebookOption = None,
) -> None:
    """Print one JSON line per unit: unit_id, predicted codes and a probability for every label."""
    records = _read_units(units)
    predictor = _predictor(model, load_codebook(codebook))
    scored = predictor.score([record["text"] for record in records])
    _check_finite(scored, records, predictor.bundle.path)
    for record, codes, row in zip(records, scored.codes(), scored.probabilities, strict=False):
        scores = {label: round(float(p), 4) for label, p in zip(scored.label_ids, row, strict=False)}
        line = {"unit_id": record["unit_id"], "codes": codes, "scores": scores}
        sys.stdout.write(json.dumps(line, ensure_ascii=False, allow_nan=False) + "\n")


def _read_units(units: Path) -> list[dict]:
    """Read and check every line before the model loads, so a bad file fails in a second.

    Output lines are matched to input lines by ``unit_id``, so a repeated id makes the
    output ambiguous (exit 2); an empty text is only worth a warning, since it scores fine.

    Raises:
        InputError: No units, a line without string 'unit_id' and 'text', or a repeated unit_id.
    """
    records: list[dict] = []
    first_line: dict[str, int] = {}
    empty: list[int] = []
    for number, record in read_jsonl(units):
        for key in ("unit_id", "text"):
            if not isinstance(record.get(key), str):
                raise InputError(f"{units}:{number}", f"'{key}' must be a string")
        unit_id = record["unit_id"]
        if unit_id in first_line:
            raise InputError(f"{units}:{number}", f"duplicate unit_id '{unit_id}' (first on line {first_line[unit_id]})")
        first_line[unit_id] = number
        if not record["text"].strip():
            empty.append(number)
        records.append(record)
    if not records:
        raise InputError(units, "no units (expected one JSON object with 'unit_id' and 'text' per line)")
    if empty:
        print(
            f"matrixcoder: warning: {units}: {len(empty)} unit(s) with empty text (first on line {empty[0]}); scored as they are",
            file=sys.stderr,
        )
    return records


def _check_finite(scored, records: list[dict], model: Path | None) -> None:
    """Refuse NaN scores: they are not JSON, and a NaN decides nothing.

    Raises:
        InputError: Some unit got a NaN or infinite probability (a damaged encoder or model).
    """
    import numpy as np

    finite = np.isfinite(scored.probabilities).all(axis=1) & np.isfinite(scored.relevance)
    if not finite.all():
        first = records[int(np.flatnonzero(~finite)[0])]["unit_id"]
        raise InputError(
            model or "model", f"gave NaN scores for {int((~finite).sum())} unit(s), first '{first}'; check the model and its encoder"
        )


def suggest(
    files: Annotated[list[Path], typer.Argument(help="Documents (txt, md, html, pdf, docx).")],
    model: ModelOption = None,
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--format", help="A readable table, JSON, or a REFI-QDA project for NVivo, ATLAS.ti, MAXQDA, QualCoder (qdpx, with -o)."
        ),
    ] = OutputFormat.table,
    codebook: CodebookOption = None,
    out: Annotated[Path | None, typer.Option("-o", "--output", help="The .qdpx file to write with --format qdpx.")] = None,
    force: ForceOption = False,
) -> None:
    """Suggest codes for documents, grouped by dimension, each with confidence and evidence sentences.

    Files that cannot be read are reported one per line and the rest get suggestions;
    the exit code is then 2.
    """
    from matrixcoder.inference.suggest import read_documents, suggest_for

    if (output is OutputFormat.qdpx) != (out is not None):
        raise InputError("suggest", "a REFI-QDA project needs both --format qdpx and -o OUT.qdpx")
    if out is not None:
        check_output_file(out, force=force, inputs=files)
    book = load_codebook(codebook)
    documents, failures = read_documents(files)
    if not documents:
        _no_documents(files, failures)
    predictor = _predictor(model, book)
    suggestions = suggest_for(documents, predictor, book)
    _show_suggestions(suggestions, output, book, predictor.bundle.info.name, out)
    for failure in failures:
        print(f"matrixcoder: error: {failure}", file=sys.stderr)
    if failures:
        raise typer.Exit(2)


def _no_documents(files: list[Path], failures: list[InputError]) -> None:
    """Stop when no file could be read: one file's own error, or each file's then a summary.

    Raises:
        InputError: Always.
    """
    if len(failures) == 1:
        raise failures[0]
    for failure in failures:
        print(f"matrixcoder: error: {failure}", file=sys.stderr)
    raise InputError(", ".join(str(f) for f in files), "no document could be read; nothing suggested")


def _show_suggestions(suggestions: list, output: OutputFormat, book: Codebook, model_name: str, out: Path | None) -> None:
    """Write the suggestions as a REFI-QDA project, JSON, or one table per document."""
    if output is OutputFormat.qdpx:
        from matrixcoder.inference.suggest import export_suggestions

        assert out is not None  # suggest() requires -o with --format qdpx
        export_suggestions(suggestions, model_name, book, out)
        console.print(f"Wrote {len(suggestions)} documents with {sum(len(s.codes) for s in suggestions)} suggested codes to {out}")
        return
    if output is OutputFormat.json:
        print(json.dumps({"documents": [s.to_json(book) for s in suggestions]}, indent=2, ensure_ascii=False))
        return
    for suggestion in suggestions:
        rows = []
        for _, name, codes in suggestion.by_dimension(book):
            for code in codes:
                evidence = "\n".join(f"[{e.start}:{e.end}] {e.score:.2f} {_short(e.text)}" for e in code.evidence)
                rows.append([name, code.code, code.name, f"{code.confidence:.2f}", code.evidence_count, evidence])
        print_table(
            f"{suggestion.doc_id} ({suggestion.source}): {len(suggestion.codes)} codes from {suggestion.n_units} sentences",
            ["dimension", "code", "name", "confidence", "units", "evidence [start:end] score text"],
            rows,
        )


def score(
    corpus: Annotated[Path, typer.Argument(help="Corpus folder written by 'matrixcoder ingest' or 'harvest'.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the score tables.")],
    model: ModelOption = None,
    engine: Annotated[
        EngineName, typer.Option("--engine", help="Where to run: this machine, or Spark (mlflow.pyfunc.spark_udf).")
    ] = EngineName.local,
    master: Annotated[
        str | None,
        typer.Option(
            "--master",
            help="Spark master URL, e.g. local[4] or spark://host:7077 (with --engine spark; default: Spark's own setting, else local[*]).",
        ),
    ] = None,
    codebook: CodebookOption = None,
    force: ForceOption = False,
) -> None:
    """Score a corpus: unit scores, document codes, the alliance × code matrix and the approach table.

    An interrupted local run resumes where it stopped when started again with the same corpus, model and --out.
    """
    from matrixcoder.inference.corpus_reader import open_corpus
    from matrixcoder.inference.score import ScoringEngine, score_corpus, work_folder

    if master is not None and engine is not EngineName.spark:
        raise InputError("--master", "only applies with --engine spark")
    # Checked before the model, which may have to be trained first.
    reader = open_corpus(corpus)
    check_output_folder(out, "score", force=force, inputs=[corpus])
    book = load_codebook(codebook)
    predictor = _predictor(model, book)
    runner: ScoringEngine
    if engine is EngineName.spark:
        from matrixcoder.inference.spark_engine import SparkEngine

        runner = SparkEngine(predictor.bundle, master)
    else:
        from matrixcoder.inference.local_engine import LocalEngine

        runner = LocalEngine(predictor)
    try:
        result = score_corpus(reader, runner, book, out, force=force)
    except KeyboardInterrupt:
        kept = "finished batches are kept in " + str(work_folder(Path(out))) if engine is EngineName.local else "nothing is kept"
        print(f"matrixcoder: score interrupted; {kept}: run the same command again to resume", file=sys.stderr)
        raise typer.Exit(130) from None
    table = result.approach_table
    print_table(
        f"Approaches on micro-credentials in each alliance (N = {len(table) - 1})", list(table.columns), table.itertuples(index=False)
    )
    console.print(
        f"Scored {result.n_units} units of {result.n_documents} documents into {out}: "
        "unit_scores.parquet, document_codes.csv, alliance_matrix.csv, approach_table.csv/.md"
    )


def _predictor(model: Path | None, codebook: Codebook):
    from matrixcoder.models.predictor import Predictor
    from matrixcoder.training.default_model import resolve_model

    return Predictor.from_bundle(resolve_model(model, codebook))


def _short(text: str) -> str:
    return text if len(text) <= _TABLE_TEXT else text[: _TABLE_TEXT - 1] + "…"
