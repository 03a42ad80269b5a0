"""The model's input for a set of units: their texts and embeddings, row-aligned."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matrixcoder.encoding.features import TermCounts

__all__ = ["UnitBatch"]


@dataclass(frozen=True)
class UnitBatch:
    """The model's input for a set of units: their texts and embeddings, row-aligned.

    ``counts`` optionally carries the texts' term counts (:class:`TermCounts`), made once so
    that the TF-IDF features of every cross-validation fold are fitted without tokenising again.
    """

    texts: list[str]
    embeddings: np.ndarray
    counts: TermCounts | None = None

    @classmethod
    def counted(cls, texts: list[str], embeddings: np.ndarray) -> UnitBatch:
        """A batch that carries its term counts: for cross-validation, which fits TF-IDF once per fold."""
        return cls(texts, embeddings, TermCounts.of(texts))

    def take(self, rows: np.ndarray) -> UnitBatch:
        counts = None if self.counts is None else self.counts.take(rows)
        return UnitBatch([self.texts[i] for i in rows], self.embeddings[rows], counts)

    def __len__(self) -> int:
        return len(self.texts)
