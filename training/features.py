"""TF-IDF features that can be saved as a vocabulary list and an idf array (no pickle)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

__all__ = ["TfidfFeatures"]

# Word unigrams and bigrams, sublinear tf: the usual strong setting for short sentences.
_NGRAMS = (1, 2)
_MIN_DF = 2


class TfidfFeatures:
    """Sublinear-tf TF-IDF over word 1-2 grams, l2-normalised.

    Args:
        vocabulary: Terms in column order (set by :meth:`fit`, or given when loading a model).
        idf: Inverse document frequency per term, aligned with ``vocabulary``.
    """

    def __init__(self, vocabulary: Sequence[str] | None = None, idf: np.ndarray | None = None) -> None:
        self.vocabulary = vocabulary
        self.idf = idf

    def fit(self, texts: Sequence[str]) -> TfidfFeatures:
        """Learn the vocabulary (terms in at least two texts) and idf weights."""
        min_df = _MIN_DF if len(texts) >= 2 * _MIN_DF else 1
        fitted = TfidfVectorizer(ngram_range=_NGRAMS, min_df=min_df, sublinear_tf=True).fit(texts)
        self.vocabulary = list(fitted.get_feature_names_out())
        self.idf = fitted.idf_.astype(np.float32)
        return self

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """One l2-normalised row per text; equal to scikit-learn's TfidfVectorizer output."""
        counts = CountVectorizer(ngram_range=_NGRAMS, vocabulary=self.vocabulary).transform(texts).astype(np.float32)
        counts.data = 1.0 + np.log(counts.data)
        return normalize(counts @ sparse.diags(self.idf), norm="l2", copy=False).tocsr()

    @property
    def n_features(self) -> int:
        return len(self.vocabulary)
