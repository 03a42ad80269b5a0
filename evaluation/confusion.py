"""Which codes are confused with which: from disagreements between two coders on the same unit.

On a unit both coded, coder X's codes that Y did not give (``X - Y``) are set against Y's codes
that X did not give (``Y - X``): every pair ``(p, q)`` from those two sets counts once. A code
one coder gave while the other gave nothing extra counts against ``NONE`` (an omission rather
than a confusion). Codes both gave are agreement and never count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from matrixcoder.evaluation.coding_agreement import CodingTable

__all__ = ["NONE", "Confusion", "ConfusionExample", "code_confusions"]

NONE = "(none)"


@dataclass(frozen=True)
class ConfusionExample:
    """A unit on which two coders disagreed."""

    unit_id: str
    text: str
    first_codes: tuple[str, ...]
    second_codes: tuple[str, ...]

    def to_json(self) -> dict:
        return {
            "unit_id": self.unit_id,
            "text": self.text,
            "first_codes": list(self.first_codes),
            "second_codes": list(self.second_codes),
        }


@dataclass(frozen=True)
class Confusion:
    """Counts of ``(first coder's code, second coder's code)`` over disagreeing units.

    Attributes:
        labels: Row and column labels: the table's labels, then ``NONE``.
        counts: ``counts[p, q]``: units where the first coder gave ``p`` and the second ``q`` instead.
        pairs: The coder pairs counted, first coder first.
        examples: Up to a few units per ``(p, q)``.
    """

    labels: tuple[str, ...]
    counts: np.ndarray
    pairs: tuple[tuple[str, str], ...]
    examples: dict[tuple[str, str], list[ConfusionExample]] = field(default_factory=dict)

    def symmetric(self) -> np.ndarray:
        """Counts regardless of which coder gave which code."""
        return self.counts + self.counts.T

    def top(self, n: int | None = None, with_none: bool = False) -> list[tuple[str, str, int]]:
        """The most confused unordered code pairs ``(p, q, units)``, most frequent first."""
        both = self.symmetric()
        rows = []
        for i, j in zip(*np.triu_indices(len(self.labels), k=1), strict=False):
            if both[i, j] and (with_none or NONE not in (self.labels[i], self.labels[j])):
                rows.append((self.labels[i], self.labels[j], int(both[i, j])))
        rows.sort(key=lambda row: (-row[2], row[0], row[1]))
        return rows[:n] if n is not None else rows

    def examples_of(self, p: str, q: str) -> list[ConfusionExample]:
        """Examples of ``p`` against ``q`` in either direction."""
        return self.examples.get((p, q), []) + self.examples.get((q, p), [])

    def to_json(self) -> dict:
        return {
            "labels": list(self.labels),
            "counts": self.counts.astype(int).tolist(),
            "pairs": [list(pair) for pair in self.pairs],
            "top": [{"codes": [p, q], "units": n} for p, q, n in self.top(with_none=True)],
        }


def code_confusions(table: CodingTable, pairs: Sequence[tuple[str, str]], max_examples: int = 3) -> Confusion:
    """Count code confusions between coder pairs.

    Args:
        table: The coding.
        pairs: Coder pairs ``(first, second)`` to compare; rows are the first coder's codes.
        max_examples: Units kept as examples per ``(p, q)``.

    Returns:
        The :class:`Confusion`.
    """
    labels = (*table.label_ids, NONE)
    index = {label: k for k, label in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)), dtype=int)
    examples: dict[tuple[str, str], list[ConfusionExample]] = {}
    for first, second in pairs:
        i, j = table.coder_index(first), table.coder_index(second)
        for u in np.flatnonzero(table.coded[i] & table.coded[j]):
            x, y = table.code_set(i, u), table.code_set(j, u)
            only_x, only_y = sorted(x - y) or [NONE], sorted(y - x) or [NONE]
            if only_x == only_y == [NONE]:
                continue
            example = ConfusionExample(table.unit_ids[u], table.texts[u], _ordered(table, x), _ordered(table, y))
            for p in only_x:
                for q in only_y:
                    counts[index[p], index[q]] += 1
                    kept = examples.setdefault((p, q), [])
                    if len(kept) < max_examples:
                        kept.append(example)
    return Confusion(labels, counts, tuple(pairs), examples)


def _ordered(table: CodingTable, codes: frozenset[str]) -> tuple[str, ...]:
    return tuple(label for label in table.label_ids if label in codes)
