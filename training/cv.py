"""Cross-validation of the model and the baselines, on the same folds (by writer or by document).

Thresholds are cross-fitted: the threshold applied to a test fold is tuned only on the
out-of-fold scores and codes of the other folds, so no fold's own codes choose its
threshold. The relevance gate's threshold is cross-fitted the same way, after the labels'.
Figures of repeated splits are averaged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from joblib import Parallel, delayed

from matrixcoder.console import progress
from matrixcoder.encoding.batch import UnitBatch
from matrixcoder.training.metrics import TrainingReport, average_reports, multilabel_report
from matrixcoder.training.thresholds import best_gate_threshold, best_threshold

__all__ = [
    "LEARNING_CURVE_GROUPS",
    "PARALLEL_MIN_UNITS",
    "OutOfFold",
    "System",
    "cross_fitted",
    "cross_validate",
    "score_out_of_fold",
    "writer_learning_curve",
]

# Below this many units, cross-validation runs in this process: a worker's start-up (importing
# scikit-learn and the project) would cost more than the fits it takes over.
PARALLEL_MIN_UNITS = 2000
# Held-out groups of writers for the learning curve's smaller shares: one fit per group and
# share instead of one per writer. Two groups keep the curve to one and a half full fits.
LEARNING_CURVE_GROUPS = 2


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
    """Out-of-fold scores of one system: ``scores[r, i, j]`` for repeat r, unit i, label j.

    ``fitted`` is the system fitted on every unit, when ``cross_validate`` was asked to fit it.
    """

    system: System
    scores: np.ndarray
    relevance: np.ndarray | None
    fitted: Any = None


def cross_validate(
    X: UnitBatch,
    Y: np.ndarray,
    folds: list[list[np.ndarray]],
    systems: list[System],
    train_parts: list[list[np.ndarray]] | None = None,
    n_jobs: int | None = None,
    fit_on_all: Sequence[System] = (),
    sample_weight: np.ndarray | None = None,
) -> list[OutOfFold]:
    """Fit every system on each training part and score its test fold.

    The fits are independent, so on large data they run in worker processes, one per core:
    cross-validation by writer on the shipped examples is dozens of fits of about a minute each.

    Args:
        train_parts: The units each fold's models learn from, aligned with ``folds``; by
            default every unit outside the test fold.
        n_jobs: Worker processes; by default one per core when there are at least
            ``PARALLEL_MIN_UNITS`` units, else none (starting workers would cost more than it saves).
        fit_on_all: Systems (among ``systems``) also to fit on every unit, as one more task of
            the same workers, returned as their ``OutOfFold.fitted``. Fitted here, the final
            model keeps a core busy that would otherwise wait for the last fold, instead of
            taking a core on its own after cross-validation.
        sample_weight: Weight of each unit when it is learnt from (passed to ``fit``); None weighs all alike.
    """
    n_repeats, n = len(folds), len(X)
    scores = {s.name: np.zeros((n_repeats, n, Y.shape[1])) for s in systems}
    relevance = {s.name: np.zeros((n_repeats, n)) for s in systems if s.gated}
    everything, nothing = np.arange(n), np.arange(0)
    tasks = [(_ALL_UNITS, nothing, everything, system) for system in fit_on_all] + [
        (r, test, train_parts[r][k] if train_parts is not None else np.setdiff1d(everything, test), system)
        for r, repeat in enumerate(folds)
        for k, test in enumerate(repeat)
        for system in systems
    ]
    # Largest training sets first (the fits on all units lead): the longest fits start early, so
    # none is left running alone at the end while the other cores wait.
    tasks.sort(key=lambda task: -len(task[2]))
    if n_jobs is None:
        n_jobs = (os.cpu_count() or 1) if n >= PARALLEL_MIN_UNITS else 1
    # Every task gets the whole batch and its row indices, and takes its rows in the worker: the
    # batch's large arrays then travel once (joblib memory-maps them) instead of as one copy per fold.
    fits = Parallel(n_jobs=min(n_jobs, len(tasks)), return_as="generator_unordered")(
        delayed(_fit_and_score)(r, test, train, system, X, Y, sample_weight) for r, test, train, system in tasks
    )
    fitted: dict[str, Any] = {}
    with progress() as bar:
        task = bar.add_task("cross-validating", total=len(tasks))
        for r, test, name, result, fold_relevance in fits:
            if r == _ALL_UNITS:
                fitted[name] = result
            else:
                scores[name][r, test] = result
                if fold_relevance is not None:
                    relevance[name][r, test] = fold_relevance
            bar.advance(task)
    return [OutOfFold(s, scores[s.name], relevance.get(s.name), fitted.get(s.name)) for s in systems]


# The repeat index of a fit on all units (no test fold): its result is the fitted estimator.
_ALL_UNITS = -1


def _fit_and_score(
    r: int, test: np.ndarray, train: np.ndarray, system: System, X: UnitBatch, Y: np.ndarray, weight: np.ndarray | None
) -> tuple[int, np.ndarray, str, Any, np.ndarray | None]:
    """One fit of one system on the ``train`` rows, scored on the ``test`` rows (run in a worker
    process); the indices travel with the scores.

    For a fit on all units (``r == _ALL_UNITS``) the estimator itself comes back instead of scores.
    """
    X_train, Y_train = X.take(train), Y[train]
    # Weights go only where there are any, so estimators whose fit takes none still work.
    if weight is None:
        estimator = system.make().fit(X_train, Y_train)
    else:
        estimator = system.make().fit(X_train, Y_train, sample_weight=weight[train])
    if r == _ALL_UNITS:
        return r, test, system.name, estimator, None
    X_test = X.take(test)
    return r, test, system.name, estimator.decision_function(X_test), estimator.relevance(X_test) if system.gated else None


def score_out_of_fold(
    oof: OutOfFold,
    Y: np.ndarray,
    folds: list[list[np.ndarray]],
    label_ids: list[str],
    gate: bool = True,
    units: np.ndarray | None = None,
) -> TrainingReport:
    """Cross-fitted predictions of one system and their figures, averaged over repeats.

    Args:
        oof: The system's out-of-fold scores.
        Y: Unit × label truth.
        folds: The folds the scores came from.
        label_ids: Label of each column.
        gate: Apply the relevance gate (for gated systems).
        units: Score only these units (e.g. the adjudicated ones); the thresholds are still
            tuned on all units of the other folds.
    """
    rows = np.arange(len(Y)) if units is None else units
    reports = [multilabel_report(Y[rows], cross_fitted(oof, Y, folds, r, gate)[rows], label_ids) for r in range(len(folds))]
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
    n_groups: int = LEARNING_CURVE_GROUPS,
    random_state: int = 0,
    sample_weight: np.ndarray | None = None,
) -> dict[str, TrainingReport]:
    """Unseen-writer figures of ``system`` when it learns from a share of the other writers.

    The writers are held out in ``n_groups`` seeded groups (every unit is tested once, as in
    leave-one-writer-out); each group's model learns from a seeded random ``fraction`` of the
    ``n_writers - 1`` writers that leave-one-writer-out would learn from (at least one), drawn
    from the writers outside the group. So a point's models learn from as many writers as its
    share says, and the curve costs ``n_groups`` fits per point instead of one per writer.
    Thresholds are cross-fitted on the other groups as usual. Rising figures mean more writers
    still pay.

    Args:
        sample_weight: Weight of each unit when it is learnt from, as in :func:`cross_validate`.

    Returns:
        ``{"25%": report, "50%": report}`` (reports as :func:`score_out_of_fold` gives them).
    """
    names = np.array(sorted(set(writers.tolist())))
    rng = np.random.default_rng(random_state)
    groups = [group for group in np.array_split(rng.permutation(names), min(n_groups, len(names))) if len(group)]
    tests = [np.flatnonzero(np.isin(writers, group)) for group in groups]
    parts: list[list[np.ndarray]] = []
    for fraction in fractions:
        parts.append([])
        for group in groups:
            outside = names[~np.isin(names, group)]
            size = min(len(outside), max(1, round(fraction * (len(names) - 1))))
            parts[-1].append(np.flatnonzero(np.isin(writers, rng.choice(outside, size=size, replace=False))))
    # One repeat per share, all fitted in one pass of the workers (no core waits between shares).
    oof = cross_validate(X, Y, [tests] * len(fractions), [system], train_parts=parts, sample_weight=sample_weight)[0]
    return {
        f"{fraction:.0%}": score_out_of_fold(
            replace(oof, scores=oof.scores[[r]], relevance=_repeat(oof.relevance, r)), Y, [tests], label_ids
        )
        for r, fraction in enumerate(fractions)
    }


def _repeat(values: np.ndarray | None, r: int) -> np.ndarray | None:
    return None if values is None else values[[r]]


def _thresholds(scores: np.ndarray, Y: np.ndarray, tuned: np.ndarray) -> np.ndarray:
    return np.array([best_threshold(scores[:, j], Y[:, j]) if tuned[j] else 0.0 for j in range(Y.shape[1])])
