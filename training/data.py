"""Training data: one coder's codes as a unit × label matrix, with document groups."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matrixcoder.errors import InputError
from matrixcoder.labels.codebook import Codebook
from matrixcoder.labels.coded_units import read_coded_units, with_gold_codes

__all__ = ["TrainingSet", "load_training_set"]


@dataclass(frozen=True)
class TrainingSet:
    """One coder's coded units. ``Y[i, j]`` is 1 when unit ``i`` carries label ``label_ids[j]``.

    ``gold[i]`` is True when unit ``i``'s codes are gold (adjudicated) rather than the coder's own.
    """

    path: Path
    sha256: str
    coder: str
    doc_ids: np.ndarray
    writers: np.ndarray
    unit_ids: list[str]
    texts: list[str]
    Y: np.ndarray
    label_ids: list[str]
    gold: np.ndarray

    @property
    def support(self) -> np.ndarray:
        """Positive units per label."""
        return self.Y.sum(axis=0)

    @property
    def n_documents(self) -> int:
        return len(set(self.doc_ids))

    @property
    def n_writers(self) -> int:
        """Distinct writers; 0 when the examples do not say who wrote each document."""
        return 0 if (self.writers == "").any() else len(set(self.writers))


def load_training_set(path: str | Path, codebook: Codebook, coder: str = "A") -> TrainingSet:
    """Read hand-coded units and keep one coder's codes.

    Args:
        path: Coded units (JSON Lines, design.md format).
        codebook: The codebook the codes must belong to.
        coder: Whose units to learn from; coder "A" codes every unit in the shipped examples.
            A unit that a gold coder ("gold" or "adjudicated") also coded takes the gold codes.

    Raises:
        InputError: Malformed file, unknown codes, no units by that coder, or no code at all.
    """
    path = Path(path)
    units, settled = with_gold_codes(read_coded_units(path, codebook), coder)
    if not units:
        coders = sorted({unit.coder for unit in read_coded_units(path, codebook)})
        raise InputError(path, f"no units coded by coder '{coder}' (coders present: {', '.join(coders)})")
    label_ids = codebook.label_ids
    column = {label: j for j, label in enumerate(label_ids)}
    Y = np.zeros((len(units), len(label_ids)), dtype=np.int8)
    for i, unit in enumerate(units):
        Y[i, [column[code] for code in unit.codes]] = 1
    if not Y.any():
        raise InputError(path, f"coder '{coder}' gave no code to any unit; nothing to learn")
    return TrainingSet(
        path=path,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        coder=coder,
        doc_ids=np.array([unit.doc_id for unit in units]),
        writers=np.array([unit.writer or "" for unit in units]),
        unit_ids=[unit.unit_id for unit in units],
        texts=[unit.text for unit in units],
        Y=Y,
        label_ids=label_ids,
        gold=np.array([unit.unit_id in settled for unit in units], dtype=bool),
    )
