"""Cross-validation of the model and the baselines, on the same folds (by writer or by document).

Thresholds are cross-fitted: the threshold applied to a test fold is tuned only on the
out-of-fold scores and codes of the other folds, so no fold's own codes choose its
threshold. The relevance gate's threshold is cross-fitted the same way, after the labels'.
Figures of repeated splits are averaged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from matrixcoder.console import progress
from matrixcoder.encoding.batch import UnitBatch
from matrixcoder.training.metrics import average_reports, multilabel_report
from matrixcoder.training.thresholds import best_gate_threshold, best_threshold

__all__ = ["OutOfFold", "System", "cross_fitted", "cross_validate", "evaluate", "writer_learning_curve"]


@dataclass(frozen=True)
class System:
    """Something to cross-validate.

    Attributes:
        name: Its name in the comparison.
        make: Builds an unfitted estimator with ``fit(X, Y)`` and ``decision_function(X)``
            (and ``relevance(X)`` when ``gated``).
        tuned: Per label: True tunes a threshold on out-of-fold scores; False decides at 0.
        gated: Whether the estimator has a relevance gate.
    """

    name: str
    make: Callable[[], Any]  # any estimator class (duck-typed, see above)
    tuned: np.ndarray
    gated: bool = False


@dataclass(frozen=True)
class OutOfFold:
    """Out-of-fold scores of one system: ``scores[r, i, j]`` for repeat r, unit i, label j."""

    system: System
    scores: np.ndarray
    relevance: np.ndarray | None


def cross_validate(
    X: UnitBatch,
    Y: np.ndarray,
    folds: list[list[np.ndarray]],
    systems: list[System],
    train_parts: list[list[np.ndarray]] | None = None,
) -> list[OutOfFold]:
    """Fit every system on each training part and score its test fold.

    Args:
        train_parts: The units each fold's models learn from, aligned with ``folds``; by
            default every unit outside the test fold.
    """
    n_repeats, n = len(folds), len(X)
    scores = {s.name: np.zeros((n_repeats, n, Y.shape[1])) for s in systems}
    relevance = {s.name: np.zeros((n_repeats, n)) for s in systems if s.gated}
    with progress() as bar:
        task = bar.add_task("cross-validating", total=n_repeats * len(folds[0]) * len(systems))
        for r, repeat in enumerate(folds):
            for k, test in enumerate(repeat):
                train = train_parts[r][k] if train_parts is not None else np.setdiff1d(np.arange(n), test)
                X_train, X_test = X.take(train), X.take(test)
                for system in systems:
                    estimator = system.make().fit(X_train, Y[train])
                    scores[system.name][r, test] = estimator.decision_function(X_test)
                    if system.gated:
                        relevance[system.name][r, test] = estimator.relevance(X_test)
                    bar.advance(task)
    return [OutOfFold(s, scores[s.name], relevance.get(s.name)) for s in systems]


def evaluate(oof: OutOfFold, Y: np.ndarray, folds: list[list[np.ndarray]], label_ids: list[str], gate: bool = True) -> dict:
    """Cross-fitted predictions of one system and their figures, averaged over repeats.

    Args:
        oof: The system's out-of-fold scores.
        Y: Unit × label truth.
        folds: The folds the scores came from.
        label_ids: Label of each column.
        gate: Apply the relevance gate (for gated systems).
    """
    reports = [multilabel_report(Y, cross_fitted(oof, Y, folds, r, gate), label_ids) for r in range(len(folds))]
    return average_reports(reports)


def cross_fitted(oof: OutOfFold, Y: np.ndarray, folds: list[list[np.ndarray]], repeat: int = 0, gate: bool = True) -> np.ndarray:
    """Unit × label decisions of one repeat, each fold's thresholds and gate tuned on the other folds only.

    Args:
        oof: The system's out-of-fold scores.
        Y: Unit × label truth.
        folds: The folds the scores came from.
        repeat: Which repeat of the folds.
        gate: Apply the relevance gate (for gated systems).
    """
    predicted = np.zeros_like(Y, dtype=bool)
    for test in folds[repeat]:
        other = np.setdiff1d(np.arange(len(Y)), test)
        thresholds = _thresholds(oof.scores[repeat, other], Y[other], oof.system.tuned)
        predicted[test] = oof.scores[repeat, test] >= thresholds
        if gate and oof.relevance is not None:
            cut = best_gate_threshold(oof.relevance[repeat, other], oof.scores[repeat, other] >= thresholds, Y[other])
            predicted[test] &= (oof.relevance[repeat, test] >= cut)[:, None]
    return predicted


def writer_learning_curve(
    X: UnitBatch,
    Y: np.ndarray,
    writers: np.ndarray,
    system: System,
    label_ids: list[str],
    fractions: tuple[float, ...] = (0.25, 0.5),
    random_state: int = 0,
) -> dict[str, dict]:
    """Unseen-writer figures of ``system`` when it learns from a share of the other writers.

    Each writer is held out in turn, as in leave-one-writer-out; the fold's model learns from a
    seeded random ``fraction`` of the remaining writers (at least one). Thresholds are
    cross-fitted on the other folds as usual. Rising figures mean more writers still pay.

    Returns:
        ``{"25%": report, "50%": report}`` (reports as :func:`evaluate` gives them).
    """
    names = np.array(sorted(set(writers.tolist())))
    folds = [[np.flatnonzero(writers == name) for name in names]]
    rng = np.random.default_rng(random_state)
    curve = {}
    for fraction in fractions:
        parts = []
        for name in names:
            others = names[names != name]
            chosen = rng.choice(others, size=max(1, round(fraction * len(others))), replace=False)
            parts.append(np.flatnonzero(np.isin(writers, chosen)))
        oof = cross_validate(X, Y, folds, [system], train_parts=[parts])[0]
        curve[f"{fraction:.0%}"] = evaluate(oof, Y, folds, label_ids)
    return curve


def _thresholds(scores: np.ndarray, Y: np.ndarray, tuned: np.ndarray) -> np.ndarray:
    return np.array([best_threshold(scores[:, j], Y[:, j]) if tuned[j] else 0.0 for j in range(Y.shape[1])])
