"""Multi-label figures: micro-F1, macro-F1 and mean per-label Cohen's kappa."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matrixcoder.stats.agreement import cohen_kappa

__all__ = ["LabelFigures", "TrainingReport", "average_reports", "multilabel_report"]


@dataclass(frozen=True)
class LabelFigures:
    """One label's figures against the truth.

    Attributes:
        support: Units with the label in the truth.
        precision: Share of the units given the label that have it.
        recall: Share of the units with the label that were given it.
        f1: Harmonic mean of precision and recall.
        kappa: Cohen's kappa of the yes/no decisions; None when undefined (every unit positive
            in truth and prediction alike, or every repeat so).
    """

    support: int
    precision: float
    recall: float
    f1: float
    kappa: float | None

    def to_json(self) -> dict:
        return {"support": self.support, "precision": self.precision, "recall": self.recall, "f1": self.f1, "kappa": self.kappa}


@dataclass(frozen=True)
class TrainingReport:
    """A system's multi-label figures, as cross-validation gives them and ``metrics.json`` keeps them.

    Attributes:
        micro_f1: F1 over every unit × label decision.
        macro_f1: Mean F1 over the labels that occur in the truth.
        mean_kappa: Mean Cohen's kappa over those labels where it is defined (0 when none is).
        empty_coded: Share of code-free units that received a code.
        per_label: Figures of each label that occurs in the truth, codebook order.
    """

    micro_f1: float
    macro_f1: float
    mean_kappa: float
    empty_coded: float
    per_label: dict[str, LabelFigures]

    def headline(self) -> dict[str, float]:
        """The figures systems are compared by, as ``metrics.json``'s learning curve keeps them."""
        return {"micro_f1": self.micro_f1, "macro_f1": self.macro_f1, "mean_kappa": self.mean_kappa}

    def to_json(self) -> dict:
        """The report as ``metrics.json`` and the MLflow run have always held it."""
        return self.headline() | {
            "empty_coded": self.empty_coded,
            "per_label": {label: figures.to_json() for label, figures in self.per_label.items()},
        }


def multilabel_report(Y: np.ndarray, predicted: np.ndarray, label_ids: list[str]) -> TrainingReport:
    """Compare predictions with the truth.

    Macro figures average over the labels that occur in ``Y``: a label without positives has
    no recall, and its kappa is undefined when nobody predicts it either.
    """
    Y, predicted = Y.astype(bool), predicted.astype(bool)
    tp = (Y & predicted).sum(axis=0)
    fp = (~Y & predicted).sum(axis=0)
    fn = (Y & ~predicted).sum(axis=0)
    per_label = {}
    for j, label in enumerate(label_ids):
        if not Y[:, j].any():
            continue
        per_label[label] = LabelFigures(
            support=int(Y[:, j].sum()),
            precision=float(tp[j] / (tp[j] + fp[j])) if tp[j] + fp[j] else 0.0,
            recall=float(tp[j] / (tp[j] + fn[j])),
            f1=float(2 * tp[j] / (2 * tp[j] + fp[j] + fn[j])),
            kappa=_kappa(Y[:, j], predicted[:, j]),
        )
    empty = ~Y.any(axis=1)
    kappas = [m.kappa for m in per_label.values() if m.kappa is not None]
    return TrainingReport(
        micro_f1=float(2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)),
        macro_f1=float(np.mean([m.f1 for m in per_label.values()])),
        mean_kappa=float(np.mean(kappas)) if kappas else 0.0,
        empty_coded=float(predicted[empty].any(axis=1).mean()) if empty.any() else 0.0,
        per_label=per_label,
    )


def average_reports(reports: list[TrainingReport]) -> TrainingReport:
    """Average reports of repeated cross-validation, figure by figure (an undefined kappa is left out)."""

    def mean(values: list[float]) -> float:
        return float(np.mean(values))

    per_label = {}
    for label, first in reports[0].per_label.items():
        figures = [r.per_label[label] for r in reports]
        kappas = [f.kappa for f in figures if f.kappa is not None]
        per_label[label] = LabelFigures(
            support=first.support,
            precision=mean([f.precision for f in figures]),
            recall=mean([f.recall for f in figures]),
            f1=mean([f.f1 for f in figures]),
            kappa=mean(kappas) if kappas else None,
        )
    return TrainingReport(
        micro_f1=mean([r.micro_f1 for r in reports]),
        macro_f1=mean([r.macro_f1 for r in reports]),
        mean_kappa=mean([r.mean_kappa for r in reports]),
        empty_coded=mean([r.empty_coded for r in reports]),
        per_label=per_label,
    )


def _kappa(truth: np.ndarray, predicted: np.ndarray) -> float | None:
    try:
        return cohen_kappa(truth.tolist(), predicted.tolist())
    except ValueError:
        # Every unit positive in truth and prediction alike: kappa is 0/0.
        return None
