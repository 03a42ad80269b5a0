"""From the unit-score table to document codes, the alliance × code matrix and the approach table.

The table is read a batch at a time. A document's units are consecutive in it (corpora keep
each document's units together, and both engines keep corpus order), so each document is
summarised as soon as its last unit has been read and its rows go straight to
``document_codes.csv``; an alliance keeps only its running top-k probabilities and counts. Memory
therefore holds one document's units, one small state per alliance and the documents' ids
(to check that no document comes back), not the units of the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from matrixcoder.errors import InputError
from matrixcoder.inference.aggregate import TOP_K, Aggregate, aggregate
from matrixcoder.inference.corpus_reader import NO_ALLIANCE
from matrixcoder.labels.approaches import FOOTER, alliance_coding, approach_table
from matrixcoder.labels.codebook import Codebook

__all__ = ["DOCUMENT_COLUMNS", "ScoreSummary", "approach_frame", "summarise"]

DOCUMENT_COLUMNS = ["doc_id", "alliance", "code", "dimension", "name", "confidence", "evidence_count", "evidence_units"]
_READ_BATCH = 8192
# Rows of document_codes.csv buffered before they are written.
_WRITE_BATCH = 10_000


@dataclass(frozen=True)
class ScoreSummary:
    """What :func:`summarise` wrote, less the document codes (they can outgrow memory: read the CSV).

    Attributes:
        n_units: Units scored.
        n_documents: Documents with at least one unit.
        alliance_matrix: Alliance × labels (``alliance_matrix.csv``).
        approach_table: The paper's Table 2 (``approach_table.csv`` and ``.md``).
    """

    n_units: int
    n_documents: int
    alliance_matrix: pd.DataFrame
    approach_table: pd.DataFrame


def summarise(unit_scores: Path, alliances: dict[str, str], codebook: Codebook, folder: Path) -> ScoreSummary:
    """Write ``document_codes.csv``, ``alliance_matrix.csv`` and ``approach_table.csv``/``.md`` into ``folder``.

    Args:
        unit_scores: The unit-score table (Parquet, corpus order).
        alliances: Alliance of each document.
        codebook: The model's codebook.
        folder: An existing folder (the caller makes the whole output atomic).

    Raises:
        InputError: A document's units are not consecutive in the table.
    """
    with (folder / "document_codes.csv").open("w", encoding="utf-8", newline="") as handle:
        documents = _Documents(codebook, alliances, unit_scores, handle)
        for batch in pq.ParquetFile(unit_scores).iter_batches(batch_size=_READ_BATCH):
            documents.add(batch.to_pandas())
        documents.close()
    matrix = _alliance_matrix(documents.alliances, codebook)
    approaches = approach_frame(matrix, codebook)
    matrix.to_csv(folder / "alliance_matrix.csv", index=False)
    approaches.to_csv(folder / "approach_table.csv", index=False)
    (folder / "approach_table.md").write_text(_markdown(approaches), encoding="utf-8")
    return ScoreSummary(documents.n_units, len(documents.finished), matrix, approaches)


def approach_frame(matrix: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """The paper's Table 2 from the alliance matrix, as the DataFrame written to ``approach_table.csv``.

    It is computed as ``report approaches`` does, by :func:`~matrixcoder.labels.approaches.approach_table`
    (an alliance shows a type when at least one of its units was predicted with it).
    """
    if matrix.empty:
        # No document had an alliance: the table has only its header and an all-zero count row.
        return pd.DataFrame(
            [[FOOTER, *("0" for _ in codebook.approach_types), ""]],
            columns=["Alliance", *(a.name for a in codebook.approach_types), "Types per alliance"],
        )
    return approach_table(alliance_coding(matrix.astype(str), codebook, "alliance matrix"), codebook).to_frame()


@dataclass
class _Alliance:
    """Running state of an alliance: the top-k relevance-gated probabilities per label, and counts."""

    top: np.ndarray
    evidence: np.ndarray
    documents: int = 0
    units: int = 0

    def add(self, probabilities: np.ndarray, relevant: np.ndarray, predicted: np.ndarray) -> None:
        gated = probabilities * relevant[:, None]
        self.top = -np.sort(-np.vstack([self.top, gated]), axis=0)[:TOP_K]
        self.evidence += predicted.sum(axis=0)
        self.documents += 1
        self.units += len(probabilities)

    def confidence(self) -> np.ndarray:
        # The top-k of every unit's gated probabilities are the top-k of the kept rows, so
        # aggregating the kept rows gives the confidence that aggregating all units would.
        kept = len(self.top)
        return aggregate(self.top, np.ones(kept, dtype=bool), np.zeros_like(self.top, dtype=bool)).confidence


@dataclass(frozen=True)
class _Run:
    """Consecutive units of one document, as arrays (pandas per document costs more than the maths)."""

    doc_id: str
    unit_ids: np.ndarray
    probabilities: np.ndarray
    relevant: np.ndarray
    predicted: np.ndarray

    def extend(self, other: _Run) -> _Run:
        return _Run(
            self.doc_id,
            *(
                np.concatenate([mine, theirs])
                for mine, theirs in zip(
                    (self.unit_ids, self.probabilities, self.relevant, self.predicted),
                    (other.unit_ids, other.probabilities, other.relevant, other.predicted),
                    strict=False,
                )
            ),
        )


@dataclass
class _Documents:
    """Summarises documents as their units stream past, and feeds their alliances."""

    codebook: Codebook
    alliance_of: dict[str, str]
    source: Path
    handle: TextIO
    pending: _Run | None = None
    finished: set[str] = field(default_factory=set)
    alliances: dict[str, _Alliance] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    n_units: int = 0
    header_written: bool = False

    def add(self, frame: pd.DataFrame) -> None:
        """Take the next rows of the table."""
        self.n_units += len(frame)
        label_ids = self.codebook.label_ids
        ids, unit_ids = frame["doc_id"].to_numpy(), frame["unit_id"].to_numpy()
        probabilities = frame[label_ids].to_numpy(dtype=np.float64)
        relevant = frame["relevant"].to_numpy(dtype=bool)
        predicted = _predicted(frame["codes"], label_ids)
        bounds = [*np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]), len(frame)] if len(frame) else [0]
        for start, end in zip(bounds[:-1], bounds[1:], strict=False):
            part = slice(start, end)
            run = _Run(ids[start], unit_ids[part], probabilities[part], relevant[part], predicted[part])
            if self.pending is not None and self.pending.doc_id == run.doc_id:
                self.pending = self.pending.extend(run)
                continue
            self._finish()
            self.pending = run

    def close(self) -> None:
        """Summarise the last document and write every remaining row."""
        self._finish()
        self._write(final=True)

    def _finish(self) -> None:
        if self.pending is None:
            return
        run, self.pending = self.pending, None
        if run.doc_id in self.finished:
            raise InputError(self.source, f"the units of document {run.doc_id} are not consecutive; score the corpus again")
        self.finished.add(run.doc_id)
        alliance = self.alliance_of.get(run.doc_id, NO_ALLIANCE)
        self._document_rows(run.doc_id, alliance, run.unit_ids, aggregate(run.probabilities, run.relevant, run.predicted))
        if alliance != NO_ALLIANCE:
            # Units of documents without an alliance stay out of the matrix: it describes alliances.
            label_count = len(self.codebook.label_ids)
            state = self.alliances.setdefault(alliance, _Alliance(np.zeros((0, label_count)), np.zeros(label_count, dtype=np.int64)))
            state.add(run.probabilities, run.relevant, run.predicted)

    def _document_rows(self, doc_id: str, alliance: str, unit_ids: np.ndarray, summary: Aggregate) -> None:
        for j, label in enumerate(self.codebook.labels):
            if summary.evidence_count[j]:
                self.rows.append(
                    {
                        "doc_id": doc_id,
                        "alliance": alliance,
                        "code": label.id,
                        "dimension": label.dimension,
                        "name": label.name,
                        "confidence": round(float(summary.confidence[j]), 4),
                        "evidence_count": int(summary.evidence_count[j]),
                        "evidence_units": " ".join(unit_ids[summary.evidence[j]]),
                    }
                )
        self._write(final=False)

    def _write(self, final: bool) -> None:
        if len(self.rows) < _WRITE_BATCH and not final:
            return
        pd.DataFrame(self.rows, columns=DOCUMENT_COLUMNS).to_csv(self.handle, header=not self.header_written, index=False)
        self.header_written = True
        self.rows = []


def _predicted(codes: pd.Series, label_ids: list[str]) -> np.ndarray:
    column = {label: j for j, label in enumerate(label_ids)}
    predicted = np.zeros((len(codes), len(label_ids)), dtype=bool)
    for i, unit_codes in enumerate(codes):
        predicted[i, [column[code] for code in unit_codes]] = True
    return predicted


def _alliance_matrix(alliances: dict[str, _Alliance], codebook: Codebook) -> pd.DataFrame:
    """Alliance × labels: ``<label>_confidence`` and ``<label>_evidence`` (units predicted) per alliance."""
    rows = []
    for name in sorted(alliances):
        state = alliances[name]
        confidence = state.confidence()
        row = {"alliance": name, "documents": state.documents, "units": state.units}
        for j, label in enumerate(codebook.labels):
            row[f"{label.id}_confidence"] = round(float(confidence[j]), 4)
            row[f"{label.id}_evidence"] = int(state.evidence[j])
        rows.append(row)
    columns = ["alliance", "documents", "units"] + [
        f"{label.id}_{kind}" for label in codebook.labels for kind in ("confidence", "evidence")
    ]
    return pd.DataFrame(rows, columns=columns)


def _markdown(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(str(cell) for cell in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"
