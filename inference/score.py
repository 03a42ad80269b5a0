"""Batch scoring of a corpus: unit scores, document codes, the alliance matrix, the approach table.

An engine fills the unit-score table (:mod:`matrixcoder.inference.unit_scores`): the local
engine in this process, the Spark engine on a cluster. Everything after it is computed from that
table alone (:mod:`matrixcoder.inference.summary`), so both engines write the same summaries.
Engines work in ``OUT.partial`` beside the output folder; the output folder itself appears
complete or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from matrixcoder.fileio import check_output_folder, exclusive_lock, output_folder, remove_work_folder
from matrixcoder.inference.corpus_reader import CorpusReader
from matrixcoder.inference.summary import summarise
from matrixcoder.labels.codebook import Codebook

__all__ = ["ScoreResult", "ScoringEngine", "score_corpus", "work_folder"]


class ScoringEngine(Protocol):
    """Something that writes a corpus's unit-score table."""

    def unit_scores(self, corpus: CorpusReader, work: Path, target: Path) -> None:
        """Write the table to ``target`` (Parquet, corpus order), with ``work`` for its own files."""


@dataclass(frozen=True)
class ScoreResult:
    """What :func:`score_corpus` wrote into ``out``.

    Attributes:
        out: The output folder: ``unit_scores.parquet``, ``document_codes.csv``,
            ``alliance_matrix.csv``, ``approach_table.csv`` and ``approach_table.md``.
        n_units: Units scored.
        n_documents: Documents with at least one unit.
        alliance_matrix: The content of ``alliance_matrix.csv``.
        approach_table: The content of ``approach_table.csv``.
    """

    out: Path
    n_units: int
    n_documents: int
    alliance_matrix: pd.DataFrame
    approach_table: pd.DataFrame


def score_corpus(corpus: CorpusReader, engine: ScoringEngine, codebook: Codebook, out: str | Path, *, force: bool = False) -> ScoreResult:
    """Score every unit of a corpus with ``engine`` and write the tables into ``out`` (atomically).

    Args:
        corpus: The corpus, from :func:`~matrixcoder.inference.corpus_reader.open_corpus`.
        engine: What computes the unit scores.
        codebook: The model's codebook.
        out: The output folder: new, empty, or a previous ``score`` output (only its files are
            replaced); another folder only with ``force``.
        force: Write into an existing folder that ``score`` did not create.

    Raises:
        InputError: ``out`` may not be written, or another run is writing it.
    """
    out = Path(out)
    check_output_folder(out, "score", force=force, inputs=[corpus.path])
    work = work_folder(out)
    with exclusive_lock(out.with_name(f"{out.name}.lock"), str(out)):
        with output_folder(out, "score", force=force, inputs=[corpus.path]) as folder:
            engine.unit_scores(corpus, work, folder / "unit_scores.parquet")
            summary = summarise(folder / "unit_scores.parquet", corpus.alliances(), codebook, folder)
        remove_work_folder(work)
    return ScoreResult(out, summary.n_units, summary.n_documents, summary.alliance_matrix, summary.approach_table)


def work_folder(out: Path) -> Path:
    """Where engines keep their files while scoring into ``out``: ``OUT.partial`` beside it."""
    return out.with_name(f"{out.name}.partial")
