"""Turn a fitted model and its out-of-fold scores into one calibrated linear layer.

Balanced class weights inflate every head's probabilities by a label-specific amount, so
each head's log-odds are recalibrated with Platt scaling (``a * score + c``) fitted on its
out-of-fold scores. Scaling is monotone, so the F1-optimal threshold found on the raw
out-of-fold scores maps straight onto the probability scale, and both fold into the head's
weights: the bundle needs nothing but ``sigmoid(x @ coef + intercept) >= threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from matrixcoder.training.cv import OutOfFold
from matrixcoder.training.model import MatrixModel
from matrixcoder.training.thresholds import best_gate_threshold, best_threshold

__all__ = ["CalibratedLayer", "calibrated_layer"]

# A head whose out-of-fold scores do not rise with the truth still needs an increasing map.
_MIN_SLOPE = 1e-3


@dataclass(frozen=True)
class CalibratedLayer:
    """Rows: the labels, then relevance. ``coef`` spans the embedding then the TF-IDF columns."""

    coef: np.ndarray
    intercept: np.ndarray
    thresholds: np.ndarray


def calibrated_layer(model: MatrixModel, oof: OutOfFold, Y: np.ndarray) -> CalibratedLayer:
    """Calibrate ``model`` (fitted on all data) with the out-of-fold scores of its cross-validation.

    Out-of-fold scores of all repeats are pooled for calibration and for the thresholds.
    """
    n_labels = Y.shape[1]
    scores = oof.scores.reshape(-1, n_labels)
    truth = np.tile(Y, (oof.scores.shape[0], 1)).astype(bool)
    heads = np.flatnonzero(~model.fallback)
    width = model.heads_.coef_.shape[1]
    coef = np.zeros((n_labels + 1, width))
    intercept = np.zeros(n_labels + 1)
    thresholds = np.zeros(n_labels + 1)
    raw_thresholds = np.zeros(n_labels)
    for row, j in enumerate(heads):
        raw_thresholds[j] = best_threshold(scores[:, j], truth[:, j])
        slope, offset = _platt(scores[:, j], truth[:, j])
        coef[j] = slope * model.heads_.coef_[row]
        intercept[j] = slope * model.heads_.intercept_[row] + offset
        thresholds[j] = _sigmoid(slope * raw_thresholds[j] + offset)
    if model.zero_shot_ is not None:
        zs_coef, zs_intercept = model.zero_shot_.linear_form()
        dim = zs_coef.shape[1]
        for j in np.flatnonzero(model.fallback):
            coef[j, :dim], intercept[j] = zs_coef[j], zs_intercept[j]
            thresholds[j] = _sigmoid(model.zero_shot_.threshold_)
    predicted = scores >= raw_thresholds
    assert oof.relevance is not None  # the model's system is gated, so its cross-validation scored relevance
    cut = best_gate_threshold(oof.relevance.ravel(), predicted, truth)
    slope, offset = _platt(oof.relevance.ravel(), np.any(truth, axis=1))
    coef[-1] = slope * model.gate_.coef_[0]
    intercept[-1] = slope * model.gate_.intercept_[0] + offset
    thresholds[-1] = 0.0 if np.isneginf(cut) else _sigmoid(slope * cut + offset)
    return CalibratedLayer(coef, intercept, thresholds)


def _platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    curve = LogisticRegression(C=100.0).fit(scores[:, None], y)
    return max(float(curve.coef_[0, 0]), _MIN_SLOPE), float(curve.intercept_[0])


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))
