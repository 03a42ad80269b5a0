"""The model's input for a set of units: their texts and embeddings, row-aligned."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["UnitBatch"]


@dataclass(frozen=True)
class UnitBatch:
    """The model's input for a set of units: their texts and embeddings, row-aligned."""

    texts: list[str]
    embeddings: np.ndarray

    def take(self, rows: np.ndarray) -> UnitBatch:
        return UnitBatch([self.texts[i] for i in rows], self.embeddings[rows])

    def __len__(self) -> int:
        return len(self.texts)
