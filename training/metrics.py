"""Multi-label figures: micro-F1, macro-F1 and mean per-label Cohen's kappa."""

from __future__ import annotations

import numpy as np

from matrixcoder.stats.agreement import cohen_kappa

__all__ = ["average_reports", "multilabel_report"]


def multilabel_report(Y: np.ndarray, predicted: np.ndarray, label_ids: list[str]) -> dict:
    """Compare predictions with the truth.

    Macro figures average over the labels that occur in ``Y``: a label without positives has
    no recall, and its kappa is undefined when nobody predicts it either.

    Returns:
        ``micro_f1``, ``macro_f1``, ``mean_kappa``, ``empty_coded`` (share of code-free units
        that received a code) and ``per_label`` (support, precision, recall, f1, kappa).
    """
    Y, predicted = Y.astype(bool), predicted.astype(bool)
    tp = (Y & predicted).sum(axis=0)
    fp = (~Y & predicted).sum(axis=0)
    fn = (Y & ~predicted).sum(axis=0)
    per_label = {}
    for j, label in enumerate(label_ids):
        if not Y[:, j].any():
            continue
        per_label[label] = {
            "support": int(Y[:, j].sum()),
            "precision": float(tp[j] / (tp[j] + fp[j])) if tp[j] + fp[j] else 0.0,
            "recall": float(tp[j] / (tp[j] + fn[j])),
            "f1": float(2 * tp[j] / (2 * tp[j] + fp[j] + fn[j])),
            "kappa": _kappa(Y[:, j], predicted[:, j]),
        }
    empty = ~Y.any(axis=1)
    kappas = [m["kappa"] for m in per_label.values() if m["kappa"] is not None]
    return {
        "micro_f1": float(2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)),
        "macro_f1": float(np.mean([m["f1"] for m in per_label.values()])),
        "mean_kappa": float(np.mean(kappas)) if kappas else 0.0,
        "empty_coded": float(predicted[empty].any(axis=1).mean()) if empty.any() else 0.0,
        "per_label": per_label,
    }


def average_reports(reports: list[dict]) -> dict:
    """Average reports of repeated cross-validation, figure by figure."""
    summary = {key: float(np.mean([r[key] for r in reports])) for key in ("micro_f1", "macro_f1", "mean_kappa", "empty_coded")}
    per_label = {}
    for label, first in reports[0]["per_label"].items():
        per_label[label] = {"support": first["support"]}
        for key in ("precision", "recall", "f1", "kappa"):
            values = [r["per_label"][label][key] for r in reports if r["per_label"][label][key] is not None]
            per_label[label][key] = float(np.mean(values)) if values else None
    return summary | {"per_label": per_label}


def _kappa(truth: np.ndarray, predicted: np.ndarray) -> float | None:
    try:
        return cohen_kappa(truth.tolist(), predicted.tolist())
    except ValueError:
        # Every unit positive in truth and prediction alike: kappa is 0/0.
        return None
