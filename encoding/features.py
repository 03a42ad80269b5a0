"""TF-IDF features that can be saved as a vocabulary list and an idf array (no pickle).

Two blocks, each l2-normalised on its own: word 1-2 grams, and optionally character 3-5 grams
within word boundaries. Character n-grams carry what words miss across writers: stems and
inflections ("recognis-ed/-ing/-ition"), compounds, spelling variants ("micro-credential",
"microcredential") and the shared roots of other languages' terms.

The saved vocabulary is one list: word terms as they are (the word tokenizer never yields a
``:``), character grams prefixed with ``c:``. Bundles from before the character block hold only
word terms and load unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

__all__ = ["CHAR_PREFIX", "TfidfFeatures"]

# Word unigrams and bigrams, sublinear tf: the usual strong setting for short sentences.
_NGRAMS = (1, 2)
_MIN_DF = 2
# Character grams inside word boundaries; the cap keeps fitting fast on 10,000+ sentences.
_CHAR_NGRAMS = (3, 5)
_CHAR_MIN_DF = 3
_CHAR_MAX_FEATURES = 30_000
CHAR_PREFIX = "c:"


class TfidfFeatures:
    """Sublinear-tf TF-IDF over word 1-2 grams (and character 3-5 grams), l2-normalised per block.

    Args:
        vocabulary: Terms in column order (set by :meth:`fit`, or given when loading a model).
        idf: Inverse document frequency per term, aligned with ``vocabulary``.
        char: Add the character block when fitting (a loaded vocabulary says it by itself).

    Examples:
        >>> features = TfidfFeatures(char=True).fit(["stackable micro-credentials", "stackable courses"])
        >>> features.transform(["stackable units"]).shape[1] == features.n_features
        True
    """

    def __init__(self, vocabulary: Sequence[str] | None = None, idf: np.ndarray | None = None, char: bool = False) -> None:
        self.vocabulary = vocabulary
        self.idf = idf
        self.char = char

    def fit(self, texts: Sequence[str]) -> TfidfFeatures:
        """Learn the vocabulary (terms in at least two texts) and idf weights."""
        min_df = _MIN_DF if len(texts) >= 2 * _MIN_DF else 1
        words = TfidfVectorizer(ngram_range=_NGRAMS, min_df=min_df, sublinear_tf=True).fit(texts)
        vocabulary, idf = list(words.get_feature_names_out()), [words.idf_]
        if self.char:
            char_min_df = _CHAR_MIN_DF if len(texts) >= 2 * _CHAR_MIN_DF else 1
            grams = TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=_CHAR_NGRAMS,
                min_df=char_min_df,
                max_features=_CHAR_MAX_FEATURES,
                sublinear_tf=True,
                lowercase=True,
            ).fit(texts)
            vocabulary += [CHAR_PREFIX + gram for gram in grams.get_feature_names_out()]
            idf.append(grams.idf_)
        self.vocabulary = vocabulary
        self.idf = np.concatenate(idf).astype(np.float32)
        return self

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """One row per text: the word block then the character block, each l2-normalised."""
        vocabulary, idf = self.fitted()
        n_words = self._n_words
        blocks = [self._block(CountVectorizer(ngram_range=_NGRAMS, vocabulary=vocabulary[:n_words]), texts, idf[:n_words])]
        if n_words < len(vocabulary):
            grams = [term[len(CHAR_PREFIX) :] for term in vocabulary[n_words:]]
            counter = CountVectorizer(analyzer="char_wb", ngram_range=_CHAR_NGRAMS, vocabulary=grams, lowercase=True)
            blocks.append(self._block(counter, texts, idf[n_words:]))
        return sparse.hstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]

    def fitted(self) -> tuple[Sequence[str], np.ndarray]:
        """The vocabulary and idf weights, which fit() sets or the caller gave."""
        assert self.vocabulary is not None and self.idf is not None, "TfidfFeatures used before fit()"
        return self.vocabulary, self.idf

    @staticmethod
    def _block(counter: CountVectorizer, texts: Sequence[str], idf: np.ndarray) -> sparse.csr_matrix:
        counts = counter.transform(texts).astype(np.float32)
        counts.data = 1.0 + np.log(counts.data)
        return normalize(counts @ sparse.diags(idf), norm="l2", copy=False).tocsr()

    @property
    def _n_words(self) -> int:
        """Word terms come first; the first ``c:`` term starts the character block."""
        vocabulary, _ = self.fitted()
        return next((i for i, term in enumerate(vocabulary) if term.startswith(CHAR_PREFIX)), len(vocabulary))

    @property
    def n_features(self) -> int:
        return len(self.fitted()[0])
