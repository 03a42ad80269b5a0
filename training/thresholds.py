"""Decision thresholds chosen to maximise F1 on out-of-fold scores."""

from __future__ import annotations

import numpy as np

__all__ = ["best_gate_threshold", "best_threshold"]


def best_threshold(scores: np.ndarray, y: np.ndarray) -> float:
    """The threshold ``t`` for which ``scores >= t`` has the best F1 against ``y``.

    Cuts fall midway between distinct scores, so the threshold generalises to unseen scores
    instead of sitting on a training unit's score. Ties in F1 go to the higher threshold (fewer
    codes). With no positive in ``y``, returns +inf: predict never.
    """
    y = np.asarray(y, dtype=bool)
    positives = int(y.sum())
    if positives == 0:
        return float("inf")
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], y[order]
    true_positives = np.cumsum(hits)
    # Only cut where the next score is strictly lower: tied units are predicted together.
    ends = np.flatnonzero(np.append(ranked[1:] < ranked[:-1], True))
    f1 = 2 * true_positives[ends] / (ends + 1 + positives)
    best = ends[int(np.argmax(f1))]
    if best + 1 < len(ranked):
        return float((ranked[best] + ranked[best + 1]) / 2)
    return float(ranked[best] - 1.0)


def best_gate_threshold(gate: np.ndarray, predicted: np.ndarray, Y: np.ndarray) -> float:
    """The relevance threshold that maximises micro-F1 once units below it lose all their codes.

    Args:
        gate: Relevance score of each unit.
        predicted: Unit × label predictions before gating.
        Y: Unit × label truth.

    Returns:
        A threshold on ``gate``; -inf (no gating) when gating does not help.
    """
    predicted, Y = predicted.astype(bool), Y.astype(bool)
    tp_unit = (predicted & Y).sum(axis=1)
    fp_unit = (predicted & ~Y).sum(axis=1)
    positives = int(Y.sum())
    order = np.argsort(gate, kind="stable")
    ranked = gate[order]
    # Gating at ranked[k] (midway below it) drops units order[:k]; k = 0 drops none.
    tp = tp_unit.sum() - np.concatenate([[0], np.cumsum(tp_unit[order])])
    fp = fp_unit.sum() - np.concatenate([[0], np.cumsum(fp_unit[order])])
    allowed = np.concatenate([[True], ranked[1:] > ranked[:-1], [True]])
    f1 = np.where(allowed, 2 * tp / np.maximum(2 * tp + fp + (positives - tp), 1), -1.0)
    k = int(np.argmax(f1))
    if k == 0:
        return float("-inf")
    if k == len(ranked):
        return float(ranked[-1] + 1.0)
    return float((ranked[k - 1] + ranked[k]) / 2)
