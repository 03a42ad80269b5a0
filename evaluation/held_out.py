"""The model's codes for coded units, never from a model that saw the unit.

A thin adapter over ``training/`` and ``inference/`` (issue 3), which it uses without changing.

Overlap with the training data is found unit by unit, not by file hash (issue 10): a copy of the
training file with a few lines relabelled, reordered or appended to holds the same units and
must not be scored by the model that memorised them. A unit's key is its document id and the
sha256 of its text (:func:`unit_key`); the bundle records its training units' keys
(``training_data.unit_keys``), and for older bundles the training file it names is read.

Units the model saw are cross-fitted when the training file is at hand (the coded file itself
or the path the bundle names, recognised by the sha256 the bundle records): the bundle's training
recipe (features, C, zero-shot labels, folds by writer or by document as it was trained, seed;
``training.recipe.Recipe``, the one ``train`` used) is cross-validated again on it, and each unit gets the codes of the fold model that did not see its
writer or document, with thresholds and relevance gate cross-fitted on the other folds
(``training.cv.cross_fitted``). Without the training file they are excluded: their rows of
``codes`` are masked. Units the model never saw are scored by the bundle itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matrixcoder.encoding import embeddings
from matrixcoder.encoding.batch import UnitBatch
from matrixcoder.errors import InputError
from matrixcoder.evaluation.coding_agreement import CodingTable
from matrixcoder.labels.codebook import Codebook
from matrixcoder.labels.coded_units import KEY_DIGITS, unit_key
from matrixcoder.models.bundle import ModelBundle
from matrixcoder.models.card import cv_scheme_text
from matrixcoder.models.predictor import Predictor
from matrixcoder.training.cv import cross_fitted, cross_validate
from matrixcoder.training.data import TrainingSet, load_training_set
from matrixcoder.training.recipe import Recipe
from matrixcoder.training.zeroshot import label_prompts

__all__ = ["ModelCodes", "model_codes"]


@dataclass(frozen=True)
class ModelCodes:
    """The model as one more coder.

    Attributes:
        codes: Units x labels decisions, aligned with the table's units, as a masked array: the
            rows of units the model was trained on and that could not be cross-fitted are masked,
            so that no caller can take the memorised codes for the model's.
        held_out: Units whose codes came from a fold model that never saw their document (or writer).
        n_folds: Folds of the cross-validation (0 when nothing was held out).
        n_trained: Units the model was trained on (cross-fitted or excluded); None when unknown.
        description: How the codes were made, for the report.
    """

    codes: np.ma.MaskedArray
    held_out: np.ndarray
    n_folds: int
    n_trained: int | None
    description: str

    @property
    def scored(self) -> np.ndarray:
        """Units with a code from a model that never saw them (not excluded)."""
        return ~np.any(np.ma.getmaskarray(self.codes), axis=1)


def model_codes(path: str | Path, table: CodingTable, codebook: Codebook, bundle: ModelBundle) -> ModelCodes:
    """Codes for the units of ``table`` (read from ``path``) such that no unit is scored by a model that saw it.

    Raises:
        InputError: Every unit was in the training data and the training file is not at hand
            to cross-fit them, or the bundle's list of training units is damaged.
    """
    training = _training_set(path, codebook, bundle)
    trained = _trained_keys(training, bundle)
    keys = [unit_key(doc_id, text) for doc_id, text in zip(table.doc_ids, table.texts, strict=True)]
    seen = np.array([trained is not None and key in trained for key in keys], dtype=bool)
    decisions = np.zeros((len(keys), len(table.label_ids)), dtype=bool)
    n_folds = 0
    if seen.any() and training is not None:
        n_folds = _cross_fit(training, codebook, bundle, keys, seen, decisions)
    excluded = seen if n_folds == 0 else np.zeros(len(keys), dtype=bool)
    if len(keys) and excluded.all():
        raise InputError(path, _nothing_left(len(keys), bundle))
    _score(bundle, table, ~seen, decisions)
    mask = np.repeat(excluded[:, None], len(table.label_ids), axis=1)
    n_trained = None if trained is None else int(seen.sum())
    description = _describe(bundle, len(keys), n_trained, n_folds, training)
    return ModelCodes(np.ma.masked_array(decisions, mask=mask), seen & (n_folds > 0), n_folds, n_trained, description)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _training_set(path: str | Path, codebook: Codebook, bundle: ModelBundle) -> TrainingSet | None:
    """The bundle's training units, if their file is at hand (by the sha256 the bundle records), else None.

    The coded file itself is tried first: it is often the training file, moved or renamed.
    """
    recorded = bundle.info.training_data
    candidates = [Path(path)] + ([Path(recorded.path)] if recorded.path else [])
    for candidate in candidates:
        if candidate.is_file() and _sha256(candidate) == recorded.sha256:
            return load_training_set(candidate, codebook, recorded.coder)
    return None


def _trained_keys(training: TrainingSet | None, bundle: ModelBundle) -> set[str] | None:
    """Keys of the units the model was trained on: from its training file, else from the bundle; None if neither."""
    if training is not None:
        return {unit_key(doc_id, text) for doc_id, text in zip(training.doc_ids, training.texts, strict=True)}
    stored = bundle.info.training_data.unit_keys
    if stored is None:
        return None
    if len(stored) % KEY_DIGITS:
        raise InputError(bundle.path or "model", "damaged model bundle (training_data.unit_keys is not a list of unit keys)")
    return {stored[i : i + KEY_DIGITS] for i in range(0, len(stored), KEY_DIGITS)}


def _cross_fit(
    training: TrainingSet, codebook: Codebook, bundle: ModelBundle, keys: list[str], seen: np.ndarray, decisions: np.ndarray
) -> int:
    """Fill ``decisions`` for the ``seen`` units with cross-fitted codes; returns the number of folds."""
    predicted, n_folds = _out_of_fold(training, codebook, bundle)
    row = {unit_key(doc_id, text): i for i, (doc_id, text) in enumerate(zip(training.doc_ids, training.texts, strict=True))}
    units = np.flatnonzero(seen)
    decisions[units] = predicted[[row[keys[u]] for u in units]]
    return n_folds


def _score(bundle: ModelBundle, table: CodingTable, rows: np.ndarray, decisions: np.ndarray) -> None:
    """Fill ``decisions`` for ``rows`` (units the model never saw) with the bundle's own codes."""
    units = np.flatnonzero(rows)
    if len(units):
        decisions[units] = Predictor.from_bundle(bundle).score([table.texts[i] for i in units], "scoring units").predicted


def _name(bundle: ModelBundle) -> str:
    return bundle.info.name


def _recorded_path(bundle: ModelBundle) -> str:
    return bundle.info.training_data.path or "(path not recorded)"


def _nothing_left(n_units: int, bundle: ModelBundle) -> str:
    return (
        f"all {n_units} units were in the training data of model '{_name(bundle)}' and its training file "
        f"{_recorded_path(bundle)} is not at hand (moved or changed) to score them by cross-fitting; "
        "restore that file, or evaluate on units the model was not trained on"
    )


def _describe(bundle: ModelBundle, n_units: int, n_trained: int | None, n_folds: int, training: TrainingSet | None) -> str:
    """How the codes were made: the overlap with the training data, how it was handled, and MODEL.md."""
    return f"model '{_name(bundle)}'. {_overlap(bundle, n_units, n_trained, n_folds, training)}. {_card_note(bundle, n_folds)}"


def _overlap(bundle: ModelBundle, n_units: int, n_trained: int | None, n_folds: int, training: TrainingSet | None) -> str:
    """Which units the model was trained on, and whether they were cross-fitted or excluded."""
    if n_trained is None:
        return (
            f"Overlap with its training data could not be checked: the bundle records no training unit keys and its "
            f"training file {_recorded_path(bundle)} is not at hand (moved or changed), so units it was trained on, "
            f"if any, are scored by the model that saw them; all {n_units} units scored by the bundle"
        )
    if n_trained == 0:
        return f"None of the {n_units} gold units were in the model's training data (matched by document id and text): all scored by the bundle"
    if n_folds:
        assert training is not None  # folds are only run on the training file
        held = "writer" if bundle.info.cv.by_writer else "document"
        data = bundle.info.training_data
        scheme = (
            f"cross-validation, {cv_scheme_text(bundle.info.cv, data.writers)},"
            if held == "writer"
            else f"{n_folds}-fold cross-validation by document"
        )
        handled = (
            f"scored by cross-fitting, the bundle's recipe re-trained by {scheme} on its training file "
            f"{training.path}, each unit coded by the fold model that did not see its {held}"
        )
    else:
        handled = f"excluded, as its training file {_recorded_path(bundle)} is not at hand (moved or changed) to cross-fit them"
    rest = n_units - n_trained
    others = f"; the other {rest} units, which the model never saw, scored by the bundle" if rest else ""
    return f"{n_trained} of {n_units} gold units were in the model's training data (matched by document id and text): {handled}{others}"


def _card_note(bundle: ModelBundle, n_folds: int) -> str:
    """Why these figures need not match MODEL.md, which a reader will set beside them."""
    cv, data = bundle.info.cv, bundle.info.training_data
    if cv.by_writer:
        card = f"cross-validation, {cv_scheme_text(cv, data.writers)},"
    else:
        averaged = f"the mean over {cv.n_repeats} repeats of " if cv.n_repeats > 1 else ""
        card = f"{averaged}{cv.n_splits}-fold cross-validation by document"
    here = "a fold model that did not see it (one cross-fitting, no repeats) or, if the model never saw it, by the bundle"
    here = here if n_folds else "the bundle"
    return (
        f"These figures differ from MODEL.md's: MODEL.md reports {card} against coder {data.coder}'s codes on all "
        f"{data.units} training units; here each unit is coded once, by {here}, and compared with the "
        "gold standard and each coder on the units both sides coded"
    )


def _out_of_fold(training: TrainingSet, codebook: Codebook, bundle: ModelBundle) -> tuple[np.ndarray, int]:
    """Cross-validate the bundle's recipe on its own training units, one repeat of its own fold
    scheme (by writer when it was trained so); cross-fitted decisions per unit."""
    recipe = Recipe.from_info(bundle.info)
    embedder = embeddings.default_embedder(embeddings.load_encoder(bundle.info.encoder.name))
    X = UnitBatch.counted(training.texts, embedder.embed(training.texts, "embedding units"))
    prototypes = embedder.embed(label_prompts(codebook), "embedding label texts")
    folds = recipe.folds(training, n_repeats=1)
    oof = cross_validate(X, training.Y, folds, [recipe.system(prototypes)], sample_weight=recipe.sample_weight(training))[0]
    return cross_fitted(oof, training.Y, folds), len(folds[0])
