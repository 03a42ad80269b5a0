"""Batch scoring of a corpus: unit scores, document codes, the alliance matrix, the approach table.

Everything after the unit scores is computed from the unit-score table alone (probabilities,
``relevant`` and ``codes`` columns), so any engine that writes that table gets the same
summaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from matrixcoder.corpus import Corpus
from matrixcoder.fileio import atomic_path
from matrixcoder.inference.aggregate import aggregate
from matrixcoder.inference.predictor import Predictor
from matrixcoder.labels.codebook import Codebook

__all__ = [
    "FOOTER",
    "NO_ALLIANCE",
    "ScoreResult",
    "alliance_matrix",
    "approach_table",
    "document_codes",
    "score_corpus",
    "unit_score_table",
]

NO_ALLIANCE = "(no alliance)"
FOOTER = "No. and % of alliances per type"


@dataclass(frozen=True)
class ScoreResult:
    """The tables written by :func:`score_corpus`."""

    unit_scores: pd.DataFrame
    document_codes: pd.DataFrame
    alliance_matrix: pd.DataFrame
    approach_table: pd.DataFrame


def score_corpus(corpus: Corpus, predictor: Predictor, codebook: Codebook, out: str | Path) -> ScoreResult:
    """Score every unit of a corpus and write the summaries into ``out`` (atomically).

    Files: ``unit_scores.parquet``, ``document_codes.csv``, ``alliance_matrix.csv``,
    ``approach_table.csv`` and ``approach_table.md``.
    """
    units = corpus.units
    scores = predictor.score(units["text"].tolist(), "scoring units")
    table = unit_score_table(units, scores.label_ids, scores.probabilities, scores.relevance >= predictor.bundle.thresholds[-1], scores.codes())
    documents = corpus.documents[["doc_id", "alliance", "source"]].copy()
    documents["alliance"] = documents["alliance"].fillna(NO_ALLIANCE)
    doc_codes = document_codes(table, documents, codebook)
    matrix = alliance_matrix(table, documents, codebook)
    approaches = approach_table(matrix, codebook)
    with atomic_path(out) as folder:
        folder.mkdir()
        table.to_parquet(folder / "unit_scores.parquet", index=False)
        doc_codes.to_csv(folder / "document_codes.csv", index=False)
        matrix.to_csv(folder / "alliance_matrix.csv", index=False)
        approaches.to_csv(folder / "approach_table.csv", index=False)
        (folder / "approach_table.md").write_text(_markdown(approaches), encoding="utf-8")
    return ScoreResult(table, doc_codes, matrix, approaches)


def unit_score_table(
    units: pd.DataFrame, label_ids: list[str], probabilities: np.ndarray, relevant: np.ndarray, codes: list[list[str]]
) -> pd.DataFrame:
    """One row per unit: ids, offsets, relevance decision, predicted codes, a probability per label."""
    table = units[["doc_id", "unit_id", "start", "end"]].reset_index(drop=True).copy()
    table["relevant"] = relevant
    table["codes"] = codes
    scores = pd.DataFrame(probabilities.astype(np.float32), columns=label_ids)
    return pd.concat([table, scores], axis=1)


def document_codes(table: pd.DataFrame, documents: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """One row per document and predicted code: confidence, evidence count and evidence unit ids."""
    rows = []
    alliance = dict(zip(documents["doc_id"], documents["alliance"]))
    for doc_id, group in table.groupby("doc_id", sort=True):
        summary = _aggregate(group, codebook)
        for j, label in enumerate(codebook.labels):
            if summary.evidence_count[j]:
                rows.append({
                    "doc_id": doc_id,
                    "alliance": alliance.get(doc_id, NO_ALLIANCE),
                    "code": label.id,
                    "dimension": label.dimension,
                    "name": label.name,
                    "confidence": round(float(summary.confidence[j]), 4),
                    "evidence_count": int(summary.evidence_count[j]),
                    "evidence_units": " ".join(group["unit_id"].iloc[summary.evidence[j]]),
                })
    columns = ["doc_id", "alliance", "code", "dimension", "name", "confidence", "evidence_count", "evidence_units"]
    return pd.DataFrame(rows, columns=columns)


def alliance_matrix(table: pd.DataFrame, documents: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Alliance × labels: ``<label>_confidence`` and ``<label>_evidence`` (units predicted) per alliance.

    Units of documents without an alliance are left out: the matrix describes alliances.
    """
    merged = table.merge(documents[["doc_id", "alliance"]], on="doc_id", how="left")
    merged = merged[merged["alliance"].fillna(NO_ALLIANCE) != NO_ALLIANCE]
    rows = []
    for alliance, group in merged.groupby("alliance", sort=True):
        summary = _aggregate(group, codebook)
        row = {"alliance": alliance, "documents": group["doc_id"].nunique(), "units": len(group)}
        for j, label in enumerate(codebook.labels):
            row[f"{label.id}_confidence"] = round(float(summary.confidence[j]), 4)
            row[f"{label.id}_evidence"] = int(summary.evidence_count[j])
        rows.append(row)
    columns = ["alliance", "documents", "units"] + [f"{label.id}_{kind}" for label in codebook.labels for kind in ("confidence", "evidence")]
    return pd.DataFrame(rows, columns=columns)


def approach_table(matrix: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """The paper's Table 2: an X per approach type an alliance shows, types per alliance, and a
    last row with the number and % of alliances per type (N = the alliances in the matrix).

    An alliance shows a type when at least one of its units was predicted with it.
    """
    names = [approach.name for approach in codebook.approach_types]
    rows = []
    for _, alliance in matrix.iterrows():
        marks = ["X" if alliance[f"{approach.id}_evidence"] > 0 else "" for approach in codebook.approach_types]
        rows.append([alliance["alliance"], *marks, marks.count("X")])
    counts = [sum(row[1 + i] == "X" for row in rows) for i in range(len(names))]
    total = len(rows)
    rows.append([FOOTER, *[f"{c} ({100 * c / total:.2f}%)" if total else "0" for c in counts], ""])
    return pd.DataFrame(rows, columns=["Alliance", *names, "Types per alliance"])


def _aggregate(group: pd.DataFrame, codebook: Codebook):
    label_ids = codebook.label_ids
    predicted = np.array([[label in codes for label in label_ids] for codes in group["codes"]], dtype=bool).reshape(len(group), len(label_ids))
    return aggregate(group[label_ids].to_numpy(dtype=np.float64), group["relevant"].to_numpy(dtype=bool), predicted)


def _markdown(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(str(cell) for cell in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"
