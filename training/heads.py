"""One logistic-regression head per label on sentence embeddings, optionally beside TF-IDF."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from matrixcoder.encoding.batch import UnitBatch
from matrixcoder.encoding.features import TfidfFeatures
from matrixcoder.training.logistic import FeatureBlocks, fit_logistic

__all__ = ["FEATURE_SETS", "SOLVER_MAX_ITER", "SOLVER_TOL", "LinearHeads"]

FEATURE_SETS = ("embedding", "embedding+tfidf", "embedding+tfidf+char", "tfidf", "tfidf+char")
# Decision value given to a label that a training fold never (or always) shows: far from any threshold.
_CONSTANT = 30.0
# The solver's stopping tolerance (the largest gradient entry). scikit-learn's default, 1e-4,
# stopped lbfgs well short of the optimum on these balanced-weight heads, which acted as hidden
# extra regularisation: fitted to 1e-5, the unseen-writer kappa rose from .544 to .551 (43,390
# units, 8 writer groups, C = 1). 3e-5 reaches the same average precision on a held-out writer
# group in 1.5 times the default's time (1e-5: 1.85). Converged, a weaker penalty pays: see
# TrainConfig.C.
SOLVER_TOL = 3e-5
SOLVER_MAX_ITER = 5000


class LinearHeads(BaseEstimator):
    """Independent binary logistic regressions, one per label column, with balanced class weights.

    Balanced weights let rare labels pull their weight; the decision thresholds are tuned
    afterwards on out-of-fold scores, so the shifted intercepts do no harm. Each head is
    scikit-learn's ``LogisticRegression(class_weight="balanced")`` fitted by
    :func:`~matrixcoder.training.logistic.fit_logistic`, which keeps the embedding and the TF-IDF
    blocks apart instead of stacking them into one sparse matrix (40% less time, same optimum).

    Args:
        features: ``embedding``, ``tfidf`` (word n-grams), ``tfidf+char`` (word and character
            n-grams), or an embedding beside either.
        C: Inverse regularisation strength.
    """

    def __init__(self, features: str = "embedding", C: float = 4.0) -> None:
        self.features = features
        self.C = C

    def fit(self, X: UnitBatch, Y: np.ndarray, sample_weight: np.ndarray | None = None) -> LinearHeads:
        """Fit a head per column of ``Y``; a column with one class only gets a constant score.

        Args:
            sample_weight: Weight of each unit in every head's loss (e.g. more for units whose
                codes were adjudicated); None weighs all alike. A weight of 2 fits as if the unit
                were there twice.
        """
        if self.features not in FEATURE_SETS:
            raise ValueError(f"features must be one of {FEATURE_SETS}, not {self.features!r}")
        self.tfidf_ = TfidfFeatures(char="char" in self.features).fit(X.texts, X.counts) if "tfidf" in self.features else None
        blocks = self._blocks(X)
        self.coef_ = np.zeros((Y.shape[1], blocks.width))
        self.intercept_ = np.zeros(Y.shape[1])
        # One BLAS thread: these matrices are small, and threads that spin waiting for a busy
        # core made each fit up to 30 times slower on a shared 2-core machine.
        with threadpool_limits(limits=1, user_api="blas"):
            for j in range(Y.shape[1]):
                y = Y[:, j].astype(bool)
                if y.all() or not y.any():
                    self.intercept_[j] = _CONSTANT if y.all() else -_CONSTANT
                    continue
                self.coef_[j], self.intercept_[j] = fit_logistic(blocks, y, sample_weight, self.C, SOLVER_TOL, SOLVER_MAX_ITER)
        return self

    def split(self, k: int) -> tuple[LinearHeads, LinearHeads]:
        """The heads of the first ``k`` columns and those of the rest, sharing one vocabulary.

        Fitting several targets at once (the labels and the relevance gate) fits and applies
        the TF-IDF vocabulary once instead of once per target: a fifth of a model's fit.
        """
        first, rest = (LinearHeads(self.features, self.C) for _ in range(2))
        for part, rows in ((first, slice(None, k)), (rest, slice(k, None))):
            part.tfidf_, part.coef_, part.intercept_ = self.tfidf_, self.coef_[rows], self.intercept_[rows]
        return first, rest

    def decision_function(self, X: UnitBatch) -> np.ndarray:
        """Log-odds per unit and label (before calibration)."""
        return self._blocks(X).dot(self.coef_) + self.intercept_

    @property
    def embedding_dim(self) -> int:
        return self.coef_.shape[1] - (self.tfidf_.n_features if self.tfidf_ else 0)

    def _blocks(self, X: UnitBatch) -> FeatureBlocks:
        """The features of ``X`` as blocks: the embedding, then the TF-IDF (never stacked: see ``training.logistic``)."""
        if self.features == "embedding":
            return FeatureBlocks([X.embeddings])
        assert self.tfidf_ is not None  # every feature set but "embedding" has a tfidf block, fitted in fit()
        tfidf = self.tfidf_.transform(X.texts, X.counts)
        return FeatureBlocks([X.embeddings, tfidf] if self.features.startswith("embedding") else [tfidf])
