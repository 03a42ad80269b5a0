"""Cross-validation folds: by writer (held-out writers) and by document (stratified over labels).

Folds by document keep a document's units together, but a writer's phrasing still appears on
both sides of the split, so they measure within-writer generalisation. Folds by writer hold a
whole writer out: the honest proxy for documents written by people the model has never seen.
"""

from __future__ import annotations

import numpy as np
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

__all__ = ["MAX_WRITER_FOLDS", "document_folds", "repeats_needed", "writer_folds"]

# Leave one writer out up to this many writers; beyond it, writers are held out in this many
# groups. Each fold is a fit of about 40 s on the shipped examples, so without a cap every new
# writer would add one to `make demo`'s training (its budget is 15 minutes on 2 cores).
MAX_WRITER_FOLDS = 8


def repeats_needed(doc_ids: np.ndarray, Y: np.ndarray, n_splits: int, rare_repeats: int = 3) -> int:
    """How many times to repeat the k-fold split.

    A label found in fewer than ``2 * n_splits`` documents lands in only a few test folds, so one
    split gives a noisy F1 and a noisy tuned threshold for it; repeating with new shuffles
    averages that out. Otherwise one split is enough.
    """
    documents = _document_matrix(doc_ids, Y)[1]
    present = documents[:, documents.sum(axis=0) > 0]
    return rare_repeats if (present.sum(axis=0) < 2 * n_splits).any() else 1


def document_folds(doc_ids: np.ndarray, Y: np.ndarray, n_splits: int, n_repeats: int, random_state: int = 0) -> list[list[np.ndarray]]:
    """Split units into folds so that every document's units fall in one fold.

    Stratification runs on documents (a document "has" a label when any of its units does), so
    each fold gets a share of every label's documents as far as possible.

    Args:
        doc_ids: Document id of each unit.
        Y: Unit × label 0/1 matrix.
        n_splits: Folds per repeat (at most the number of documents).
        n_repeats: Repeats with different shuffles.
        random_state: Seed of the first repeat.

    Returns:
        For each repeat, the unit indices of each test fold.

    Raises:
        ValueError: Fewer documents than folds, or fewer than two folds.
    """
    names, documents = _document_matrix(doc_ids, Y)
    if n_splits < 2 or len(names) < n_splits:
        raise ValueError(f"need at least {max(n_splits, 2)} documents for {n_splits}-fold cross-validation by document")
    unit_doc = np.searchsorted(names, doc_ids)
    repeats = []
    for repeat in range(n_repeats):
        splitter = MultilabelStratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state + repeat)
        folds = [np.flatnonzero(np.isin(unit_doc, test_docs)) for _, test_docs in splitter.split(np.zeros((len(names), 1)), documents)]
        repeats.append(folds)
    return repeats


def writer_folds(writers: np.ndarray, max_folds: int = MAX_WRITER_FOLDS, random_state: int = 0) -> list[list[np.ndarray]]:
    """Hold whole writers out: one test fold per writer, or per group of writers when there are many.

    Up to ``max_folds`` writers, each writer is a fold of its own (leave one writer out). Beyond
    that, the writers are shuffled (seeded) and dealt into ``max_folds`` groups, so the cost of
    cross-validation stops growing with the number of writers; each fold's model still never
    sees the writers it is tested on, and learns from at least ``1 - 1/max_folds`` of them.

    Args:
        writers: Writer of each unit.
        max_folds: Most test folds; more writers are grouped.
        random_state: Seed of the grouping.

    Returns:
        One repeat: the unit indices of each test fold.

    Raises:
        ValueError: Fewer than two writers.
    """
    names = np.array(sorted(set(writers.tolist())))
    if len(names) < 2:
        raise ValueError("need at least 2 writers for cross-validation by writer")
    if len(names) <= max_folds:
        return [[np.flatnonzero(writers == name) for name in names]]
    groups = np.array_split(np.random.default_rng(random_state).permutation(names), max_folds)
    return [[np.flatnonzero(np.isin(writers, group)) for group in groups]]


def _document_matrix(doc_ids: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    names, index = np.unique(doc_ids, return_inverse=True)
    documents = np.zeros((len(names), Y.shape[1]), dtype=np.int8)
    np.maximum.at(documents, index, Y.astype(np.int8))
    return names, documents
