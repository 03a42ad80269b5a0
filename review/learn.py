"""From review decisions to coded units, and from coded units to a retrained model.

A reviewed unit's codes are those the reviewer accepted or added and did not reject later
(a suggestion left unanswered is not a code: only what the analyst confirmed counts). A unit
marked "no code" is a coded-empty unit, which is what teaches the relevance gate.

Retraining merges the reviewed units into the training examples: a reviewed unit replaces the
example with the same document and text, and counts ``weight`` times (as copies in the same
document, so cross-validation by document never splits a unit from its copies). The model is
then trained as ``matrixcoder train`` does (:func:`matrixcoder.training.train.train_model`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from matrixcoder.errors import InputError
from matrixcoder.fileio import write_jsonl
from matrixcoder.labels.codebook import Codebook
from matrixcoder.labels.coded_units import REVIEW_WEIGHT, CodedUnit, merge_training_units, read_coded_units
from matrixcoder.review.store import ReviewStore
from matrixcoder.training.train import TrainConfig, train_model

__all__ = ["retrain", "reviewed_units"]

#: How many times a reviewed unit counts against one shipped example.


def reviewed_units(store: ReviewStore, coders: Iterable[str] | None = None) -> list[CodedUnit]:
    """Each coder's reviewed units as coded units (coder = reviewer), in document and reading order.

    Args:
        store: The review database.
        coders: Whose decisions; everyone's by default.
    """
    units = store.units()
    documents = store.documents()
    order = {doc_id: i for i, doc_id in enumerate(sorted(documents))}
    found = []
    for coder in coders if coders is not None else store.coders():
        for unit_id, state in store.states(coder).items():
            unit = units[unit_id]
            found.append(CodedUnit(unit["doc_id"], unit_id, unit["text"], tuple(state.final_codes), coder, unit["start"], unit["end"]))
    return sorted(found, key=lambda u: (order.get(u.doc_id, len(order)), u.doc_id, u.start or 0, u.unit_id, u.coder))


def _latest_coder(store: ReviewStore) -> dict[str, str]:
    """unit_id -> the coder whose decision on it is the most recent (in force or not)."""
    latest: dict[str, tuple[int, str]] = {}
    for decision in store.decisions():
        if decision.id > latest.get(decision.unit_id, (0, ""))[0]:
            latest[decision.unit_id] = (decision.id, decision.coder)
    return {unit_id: coder for unit_id, (_, coder) in latest.items()}


def retrain(
    store: ReviewStore,
    examples: str | Path,
    out: str | Path,
    codebook: Codebook,
    *,
    encoder: str | None,
    coder: str = "A",
    weight: int = REVIEW_WEIGHT,
    progress: Callable[[str], None] = lambda message: None,
    config: dict | None = None,
):
    """Train a model on the examples plus every reviewer's decisions; returns the TrainResult.

    ``config`` holds further ``TrainConfig`` fields (``n_splits``, ``min_positives``…).
    The merged training file is written beside ``out`` (``OUT-examples.jsonl``) so the model's
    card and MLflow run point at exactly what it learnt from.

    Raises:
        InputError: No decisions yet, or the examples or the training fail on bad input.
    """
    progress("reading decisions and examples")
    reviewed = reviewed_units(store)
    if not reviewed:
        raise InputError(store.path, "no reviewed units yet; decide on some units first")
    merged = merge_training_units(read_coded_units(examples, codebook), reviewed, coder=coder, weight=weight, prefer=_latest_coder(store))
    out = Path(out)
    training_file = out.with_name(out.name + "-examples.jsonl")
    write_jsonl(training_file, (unit.to_json() for unit in merged))
    progress(
        f"training on {len(merged)} units ({len({u.unit_id for u in reviewed})} reviewed, each × {weight}): cross-validating and fitting"
    )
    return train_model(training_file, out, TrainConfig(encoder=encoder, coder=coder, **(config or {})), codebook)
