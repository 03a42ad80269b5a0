"""From unit scores to a document's (or an alliance's) codes, confidence and evidence.

Confidence that a document carries a code is a noisy-OR over its ``TOP_K`` most probable
units: ``1 - prod(1 - p_i)``. A document carries a code if at least one of its sentences
does, and noisy-OR is that probability when units are independent, so corroboration by
several sentences raises confidence above the best single sentence (``max`` would ignore
it). Taking every unit instead of the top k would let long documents pile up many small
probabilities into near-certainty; the top k (the evidence we show) keeps confidence
independent of document length. Units that fail the relevance gate contribute nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TOP_K", "Aggregate", "aggregate"]

TOP_K = 3


@dataclass(frozen=True)
class Aggregate:
    """Per label: confidence, number of units predicted, and up to ``TOP_K`` evidence rows."""

    confidence: np.ndarray
    evidence_count: np.ndarray
    evidence: list[list[int]]


def aggregate(probabilities: np.ndarray, relevant: np.ndarray, predicted: np.ndarray, k: int = TOP_K) -> Aggregate:
    """Aggregate a group of units.

    Args:
        probabilities: Units × labels.
        relevant: Per unit, whether it passed the relevance gate.
        predicted: Units × labels decisions.
        k: How many units count towards confidence and are shown as evidence.

    Returns:
        Confidence per label, evidence counts, and for each label the row indices of its
        predicted units, most probable first (at most ``k``).
    """
    gated = probabilities * relevant[:, None]
    top = -np.sort(-gated, axis=0)[:k]
    confidence = 1.0 - np.prod(1.0 - top, axis=0)
    counts = predicted.sum(axis=0)
    # Unpredicted units sort last; the stable sort keeps ties in reading order.
    order = np.argsort(np.where(predicted, -probabilities, np.inf), axis=0, kind="stable")[:k]
    evidence = [order[: min(k, int(n)), j].tolist() for j, n in enumerate(counts)]
    return Aggregate(confidence, counts, evidence)
