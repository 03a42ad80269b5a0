"""Score texts with a model bundle: probabilities for every label, relevance, and decisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matrixcoder.encoding import embeddings
from matrixcoder.encoding.batch import UnitBatch
from matrixcoder.errors import InputError
from matrixcoder.models.bundle import ModelBundle

__all__ = ["Predictor", "UnitScores"]


@dataclass(frozen=True)
class UnitScores:
    """Scores of a batch of units, row-aligned with the texts given.

    Attributes:
        label_ids: Label of each column.
        probabilities: Units × labels, calibrated probabilities.
        relevance: Per unit, the probability that it carries any code.
        predicted: Units × labels decisions (label threshold and relevance gate both passed).
    """

    label_ids: list[str]
    probabilities: np.ndarray
    relevance: np.ndarray
    predicted: np.ndarray

    def codes(self) -> list[list[str]]:
        """Predicted label ids of each unit, most probable first."""
        order = np.argsort(-self.probabilities, axis=1, kind="stable")
        return [
            [self.label_ids[j] for j in row_order if chosen[j]] if chosen.any() else []
            for row_order, chosen in zip(order, self.predicted, strict=False)
        ]


class Predictor:
    """A bundle with its encoder and the shared embedding cache.

    Args:
        bundle: The model.
        embedder: Embeds texts with the encoder the model was trained on.
    """

    def __init__(self, bundle: ModelBundle, embedder: embeddings.Embedder) -> None:
        self.bundle = bundle
        self.embedder = embedder

    @classmethod
    def from_bundle(cls, bundle: ModelBundle) -> Predictor:
        """Resolve the bundle's encoder and check it is the one the model was trained with.

        Raises:
            InputError: The encoder's files changed since training.
        """
        encoder = embeddings.load_encoder(bundle.info.encoder.name)
        if encoder.fingerprint != bundle.info.encoder.fingerprint:
            raise InputError(
                bundle.path or "model",
                f"encoder '{encoder.name}' differs from the one the model was trained with "
                f"(fingerprint {encoder.fingerprint[:12]}, expected {bundle.info.encoder.fingerprint[:12]}); retrain",
            )
        return cls(bundle, embeddings.default_embedder(encoder))

    def score(self, texts: Sequence[str], description: str = "embedding units") -> UnitScores:
        """Score texts (any text works: nothing is looked up by id)."""
        if not texts:
            n = len(self.bundle.label_ids)
            return UnitScores(self.bundle.label_ids, np.zeros((0, n)), np.zeros(0), np.zeros((0, n), dtype=bool))
        batch = UnitBatch(list(texts), self.embedder.embed(texts, description))
        probabilities = self.bundle.probabilities(batch)
        labels, relevance = probabilities[:, :-1], probabilities[:, -1]
        thresholds = self.bundle.thresholds
        predicted = (labels >= thresholds[:-1]) & (relevance >= thresholds[-1])[:, None]
        return UnitScores(self.bundle.label_ids, labels, relevance, predicted)
