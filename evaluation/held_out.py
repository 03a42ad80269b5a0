"""The model's codes for coded units, out-of-fold where the model was trained on them.

A thin adapter over ``training/`` and ``inference/`` (issue 3), which it uses without changing:
when the coded file is the one the bundle was trained on (same sha256), the bundle's training
recipe (features, C, zero-shot labels, folds by document, seed) is cross-validated again, and
each unit gets the codes of the fold model that did not see its document, with thresholds and
relevance gate cross-fitted on the other folds (``training.cv.cross_fitted``).
Other units are scored by the bundle itself, which never saw them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from matrixcoder.evaluation.multilabel import CodingTable
from matrixcoder.labels.codebook import Codebook
from matrixcoder.models.bundle import ModelBundle

__all__ = ["ModelCodes", "model_codes"]


@dataclass(frozen=True)
class ModelCodes:
    """The model as one more coder.

    Attributes:
        codes: Units x labels decisions, aligned with the table's units.
        held_out: Units whose codes came from a fold model that never saw their document.
        n_folds: Folds of the cross-validation (0 when nothing was held out).
        description: How the codes were made, for the report.
    """

    codes: np.ndarray
    held_out: np.ndarray
    n_folds: int
    description: str


def model_codes(path: str | Path, table: CodingTable, codebook: Codebook, bundle: ModelBundle) -> ModelCodes:
    """Codes for every unit of ``table`` (read from ``path``) such that no unit is scored by a model that saw it."""
    from matrixcoder.inference.predictor import Predictor

    name = bundle.info.get("name", str(bundle.path))
    codes = np.zeros((len(table.unit_ids), len(table.label_ids)), dtype=bool)
    held_out = np.zeros(len(table.unit_ids), dtype=bool)
    n_folds = 0
    if hashlib.sha256(Path(path).read_bytes()).hexdigest() == bundle.info["training_data"]["sha256"]:
        unit_ids, predicted, n_folds = _out_of_fold(path, codebook, bundle)
        index = {unit_id: i for i, unit_id in enumerate(table.unit_ids)}
        rows = np.array([index[unit_id] for unit_id in unit_ids], dtype=int)
        codes[rows] = predicted
        held_out[rows] = True
    rest = np.flatnonzero(~held_out)
    if len(rest):
        scores = Predictor.from_bundle(bundle).score([table.texts[i] for i in rest], "scoring units")
        codes[rest] = scores.predicted
    if n_folds:
        description = (
            f"model '{name}' re-trained by {n_folds}-fold cross-validation by document: {int(held_out.sum())} units "
            f"scored by the fold model that did not see their document"
            + (f", {len(rest)} units the model never saw scored by the bundle" if len(rest) else "")
        )
    else:
        description = f"model '{name}' (not trained on this file), scoring all {len(rest)} units"
    return ModelCodes(codes, held_out, n_folds, description)


def _out_of_fold(path: str | Path, codebook: Codebook, bundle: ModelBundle) -> tuple[list[str], np.ndarray, int]:
    """Cross-validate the bundle's recipe on its own training file; cross-fitted decisions per unit."""
    from matrixcoder.training import embeddings
    from matrixcoder.training.cv import System, cross_fitted, cross_validate
    from matrixcoder.training.data import UnitBatch, load_training_set
    from matrixcoder.training.folds import document_folds
    from matrixcoder.training.model import MatrixModel
    from matrixcoder.training.zeroshot import label_prompts

    info = bundle.info
    data = load_training_set(path, codebook, info["training_data"]["coder"])
    embedder = embeddings.default_embedder(embeddings.load_encoder(info["encoder"]["name"]))
    X = UnitBatch(data.texts, embedder.embed(data.texts, "embedding units"))
    prototypes = embedder.embed(label_prompts(codebook), "embedding label texts")
    fallback = np.array([label["mode"] == "zero-shot" for label in info["labels"]])
    n_splits = info["cv"]["n_splits"]
    folds = document_folds(data.doc_ids, data.Y, n_splits, 1, info["config"]["random_state"])
    system = System("model", partial(MatrixModel, info["features"], info["config"]["C"], fallback, prototypes), ~fallback, gated=True)
    oof = cross_validate(X, data.Y, folds, [system])[0]
    return data.unit_ids, cross_fitted(oof, data.Y, folds), n_splits
