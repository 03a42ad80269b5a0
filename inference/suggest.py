"""Suggestions for one document: codes by dimension, ranked by confidence, each with evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from matrixcoder.corpus import Document, read_document, segment
from matrixcoder.errors import InputError
from matrixcoder.inference.aggregate import aggregate
from matrixcoder.interop.qdpx_export import ExportDocument, export_qdpx
from matrixcoder.labels.codebook import APPROACH_DIMENSION, Codebook
from matrixcoder.labels.rulings import read_rulings
from matrixcoder.models.predictor import Predictor, UnitScores

__all__ = [
    "CodeSuggestion",
    "DocumentSuggestion",
    "Evidence",
    "export_suggestions",
    "read_documents",
    "suggest_documents",
    "suggest_for",
]


@dataclass(frozen=True)
class Evidence:
    """A sentence supporting a code; ``text == document.text[start:end]``."""

    unit_id: str
    text: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class CodeSuggestion:
    """A code the document carries, by the model: at least one unit was predicted with it."""

    code: str
    name: str
    dimension: str
    confidence: float
    evidence_count: int
    evidence: list[Evidence]


@dataclass(frozen=True)
class DocumentSuggestion:
    """The suggested codes of a document, in codebook dimension order, most confident first."""

    doc_id: str
    source: str
    n_units: int
    codes: list[CodeSuggestion]

    def by_dimension(self, codebook: Codebook) -> list[tuple[str, str, list[CodeSuggestion]]]:
        """``(dimension id, dimension name, codes)`` for each dimension with a suggested code."""
        order = [d.id for d in sorted(codebook.dimensions, key=lambda d: d.order)] + [APPROACH_DIMENSION]
        groups = []
        for dimension in order:
            codes = [c for c in self.codes if c.dimension == dimension]
            if codes:
                groups.append((dimension, codebook.dimension_name(dimension), codes))
        return groups

    def to_json(self, codebook: Codebook) -> dict:
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "units": self.n_units,
            "dimensions": [
                {"dimension": dim, "name": name, "codes": [asdict(code) for code in codes]}
                for dim, name, codes in self.by_dimension(codebook)
            ],
        }


def read_documents(paths: list[Path]) -> tuple[list[Document], list[InputError]]:
    """Read every file, keeping each failure apart so that one bad file does not stop the batch."""
    documents, failures = [], []
    for path in paths:
        try:
            documents.append(read_document(path))
        except InputError as exc:
            failures.append(exc)
    return documents, failures


def suggest_documents(paths: list[Path], predictor: Predictor, codebook: Codebook) -> list[DocumentSuggestion]:
    """Read, segment and score documents; every file is read before anything is scored.

    Raises:
        InputError: A file cannot be read (the first one that cannot).
    """
    documents, failures = read_documents(paths)
    if failures:
        raise failures[0]
    return suggest_for(documents, predictor, codebook)


def suggest_for(documents: list[Document], predictor: Predictor, codebook: Codebook) -> list[DocumentSuggestion]:
    """Segment and score documents already read, all sentences in one batch for the encoder."""
    units = [segment(document) for document in documents]
    scores = predictor.score([unit.text for doc_units in units for unit in doc_units], "scoring sentences")
    relevant = scores.relevance >= predictor.bundle.thresholds[-1]
    suggestions, offset = [], 0
    for document, doc_units in zip(documents, units, strict=False):
        rows = slice(offset, offset + len(doc_units))
        offset += len(doc_units)
        suggestions.append(_suggestion(document, doc_units, scores, relevant[rows], rows, codebook))
    return suggestions


def _suggestion(
    document: Document, doc_units: list, scores: UnitScores, relevant: np.ndarray, rows: slice, codebook: Codebook
) -> DocumentSuggestion:
    """One document's codes from its rows of the batch scores, most confident first."""
    probabilities = scores.probabilities[rows]
    summary = aggregate(probabilities, relevant, scores.predicted[rows])
    codes = []
    for j, code_id in enumerate(scores.label_ids):
        if not summary.evidence_count[j]:
            continue
        label = codebook.label(code_id)
        evidence = [
            Evidence(doc_units[i].unit_id, doc_units[i].text, doc_units[i].start, doc_units[i].end, round(float(probabilities[i, j]), 4))
            for i in summary.evidence[j]
        ]
        codes.append(
            CodeSuggestion(
                code_id, label.name, label.dimension, round(float(summary.confidence[j]), 4), int(summary.evidence_count[j]), evidence
            )
        )
    codes.sort(key=lambda c: -c.confidence)
    return DocumentSuggestion(document.doc_id, document.source, len(doc_units), codes)


def export_suggestions(suggestions: Sequence[DocumentSuggestion], model_id: str, codebook: Codebook, out: str | Path) -> None:
    """Export ``inference.suggest`` results: each document's evidence sentences per code.

    The documents are read again for their text (reading is deterministic); an evidence
    sentence that no longer sits at its offsets means the file changed meanwhile.

    Args:
        suggestions: ``DocumentSuggestion`` objects from ``suggest_documents``.
        model_id: The model's name, for the User that owns the codings.
        codebook: The model's codebook.
        out: The ``.qdpx`` file.

    Raises:
        InputError: A document cannot be read again, or changed since it was scored.
    """
    documents = []
    for suggestion in suggestions:
        text = read_document(suggestion.source, suggestion.doc_id).text
        spans = []
        for code in suggestion.codes:
            for evidence in code.evidence:
                if text[evidence.start : evidence.end] != evidence.text:
                    raise InputError(suggestion.source, "changed while it was being scored; run suggest again")
                spans.append((code.code, evidence.start, evidence.end, evidence.score))
        documents.append(ExportDocument(suggestion.doc_id, Path(suggestion.source).name, text, spans))
    export_qdpx(documents, model_id, codebook, out, read_rulings())
