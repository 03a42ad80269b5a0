"""Zero-shot scores: cosine similarity between a unit and its label's name and indicator text."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from matrixcoder.encoding.batch import UnitBatch
from matrixcoder.labels.codebook import Codebook
from matrixcoder.training.thresholds import best_threshold

__all__ = ["ZeroShot", "label_prompts"]


def label_prompts(codebook: Codebook) -> list[str]:
    """The text each label is compared with: its name and its indicator (or definition)."""
    return [f"{label.name}. {label.indicator}" for label in codebook.labels]


class ZeroShot(BaseEstimator):
    """Similarity to the label descriptions, calibrated with two parameters shared by all labels.

    Raw cosines are not comparable across labels (some descriptions sit closer to every
    sentence than others), so each label's cosine is standardised over the training units
    (no labels needed), then one logistic curve and one threshold, fitted on all labels
    pooled, turn it into a probability and a decision. No label gets parameters of its own
    from coded data, which is what lets it work for labels with few or no examples.

    Args:
        prototypes: Unit-length embedding of each label's prompt, one row per label.
    """

    def __init__(self, prototypes: np.ndarray) -> None:
        self.prototypes = prototypes

    def fit(self, X: UnitBatch, Y: np.ndarray, sample_weight: np.ndarray | None = None) -> ZeroShot:
        """Standardise the similarities and fit one calibration; ``sample_weight`` is not used."""
        similarity = X.embeddings @ self.prototypes.T
        self.mean_ = similarity.mean(axis=0)
        self.scale_ = similarity.std(axis=0) + 1e-6
        z = ((similarity - self.mean_) / self.scale_).ravel()
        y = Y.astype(bool).ravel()
        curve = LogisticRegression(C=100.0).fit(z[:, None], y)
        self.slope_, self.offset_ = float(curve.coef_[0, 0]), float(curve.intercept_[0])
        self.threshold_ = best_threshold(self.slope_ * z + self.offset_, y)
        return self

    def log_odds(self, X: UnitBatch) -> np.ndarray:
        """Calibrated log-odds per unit and label."""
        return self.slope_ * (X.embeddings @ self.prototypes.T - self.mean_) / self.scale_ + self.offset_

    def decision_function(self, X: UnitBatch) -> np.ndarray:
        """Margin to the pooled threshold: positive means the label is predicted."""
        return self.log_odds(X) - self.threshold_

    def linear_form(self) -> tuple[np.ndarray, np.ndarray]:
        """``(coef, intercept)`` with ``log_odds = embeddings @ coef.T + intercept``."""
        coef = self.slope_ * self.prototypes / self.scale_[:, None]
        return coef, self.offset_ - self.slope_ * self.mean_ / self.scale_
