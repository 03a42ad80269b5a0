"""The trained system: label heads, zero-shot fallback for rare labels, and a relevance gate."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from matrixcoder.encoding.batch import UnitBatch
from matrixcoder.training.heads import LinearHeads
from matrixcoder.training.zeroshot import ZeroShot

__all__ = ["MatrixModel"]


class MatrixModel(BaseEstimator):
    """Per-label linear heads, zero-shot scores for labels with too few examples, and a gate.

    The relevance gate is a head of its own for "this unit carries any code", learnt from the
    coded-empty units: most sentences of an alliance website say nothing about
    micro-credentials, and one decision for all labels rejects them better than 39
    separate thresholds do. Whether it helps, and how strict it is, is decided on
    out-of-fold scores (see :mod:`matrixcoder.training.cv`).

    Args:
        features: Feature set of the heads and the gate (see ``LinearHeads``).
        C: Inverse regularisation strength of the heads.
        fallback: One flag per label: True scores that label zero-shot instead of with a head.
        prototypes: Unit-length embedding of each label's description, one row per label.
    """

    def __init__(self, features: str, C: float, fallback: np.ndarray, prototypes: np.ndarray) -> None:
        self.features = features
        self.C = C
        self.fallback = fallback
        self.prototypes = prototypes

    def fit(self, X: UnitBatch, Y: np.ndarray, sample_weight: np.ndarray | None = None) -> MatrixModel:
        """Fit the heads and the gate (weighing units by ``sample_weight``) and the zero-shot fallback."""
        heads = ~self.fallback
        # One fit for the label heads and the gate: they share the TF-IDF vocabulary (the bundle
        # ships one for both), and its fitting is paid once.
        targets = np.column_stack([Y[:, heads], np.any(Y, axis=1)])
        self.heads_, self.gate_ = LinearHeads(self.features, self.C).fit(X, targets, sample_weight).split(int(heads.sum()))
        self.zero_shot_ = ZeroShot(self.prototypes).fit(X, Y) if self.fallback.any() else None
        return self

    def decision_function(self, X: UnitBatch) -> np.ndarray:
        """Head log-odds for head labels; zero-shot margins (decide at 0) for fallback labels."""
        scores = np.zeros((len(X), len(self.fallback)))
        scores[:, ~self.fallback] = self.heads_.decision_function(X)
        if self.zero_shot_ is not None:
            scores[:, self.fallback] = self.zero_shot_.decision_function(X)[:, self.fallback]
        return scores

    def relevance(self, X: UnitBatch) -> np.ndarray:
        """Gate log-odds that a unit carries any code."""
        return self.gate_.decision_function(X)[:, 0]
