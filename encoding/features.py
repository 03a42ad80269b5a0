"""TF-IDF features that can be saved as a vocabulary list and an idf array (no pickle).

Two blocks, each l2-normalised on its own: word 1-2 grams, and optionally character 3-5 grams
within word boundaries. Character n-grams carry what words miss across writers: stems and
inflections ("recognis-ed/-ing/-ition"), compounds, spelling variants ("micro-credential",
"microcredential") and the shared roots of other languages' terms.

The saved vocabulary is one list: word terms as they are (the word tokenizer never yields a
``:``), character grams prefixed with ``c:``. Bundles from before the character block hold only
word terms and load unchanged.

Cross-validation fits the features once per fold on that fold's training units. Tokenising is
most of that cost, and a text's term counts do not depend on the other texts, so
:class:`TermCounts` counts every term of a unit set once and each fold's fit selects its rows:
the vocabulary and idf come out exactly as fitting on the fold's texts would give them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

__all__ = ["CHAR_PREFIX", "TermCounts", "TfidfFeatures"]

# Word unigrams and bigrams, sublinear tf: the usual strong setting for short sentences.
_NGRAMS = (1, 2)
_MIN_DF = 2
# Character grams inside word boundaries; the cap keeps fitting fast on 10,000+ sentences.
_CHAR_NGRAMS = (3, 5)
_CHAR_MIN_DF = 3
_CHAR_MAX_FEATURES = 30_000
CHAR_PREFIX = "c:"


def _word_counter(vocabulary: Sequence[str] | None = None) -> CountVectorizer:
    return CountVectorizer(ngram_range=_NGRAMS, vocabulary=vocabulary, dtype=np.int64)


def _char_counter(vocabulary: Sequence[str] | None = None) -> CountVectorizer:
    return CountVectorizer(analyzer="char_wb", ngram_range=_CHAR_NGRAMS, vocabulary=vocabulary, lowercase=True, dtype=np.int64)


@dataclass(frozen=True)
class TermCounts:
    """Every word 1-2 gram and character 3-5 gram count of a set of texts, one row per text.

    Made once for the units a training run cross-validates on, then sliced with :meth:`take`
    for each fold, so that no fold tokenises a text again (see the module docstring).

    Attributes:
        words: Text × word-term counts; columns in ``word_terms`` order (sorted).
        word_terms: The word terms.
        chars: Text × character-gram counts, or None when counted without characters.
        char_terms: The character grams (sorted), or None.

    Examples:
        >>> counts = TermCounts.of(["stackable credits", "stackable courses"], char=False)
        >>> counts.take([1]).words.shape
        (1, 5)
    """

    words: sparse.csr_matrix
    word_terms: np.ndarray
    chars: sparse.csr_matrix | None = None
    char_terms: np.ndarray | None = None

    @classmethod
    def of(cls, texts: Sequence[str], char: bool = True) -> TermCounts:
        """Count the terms of ``texts`` (with character grams when ``char``)."""
        words = _word_counter()
        word_counts = words.fit_transform(texts).tocsr()
        if not char:
            return cls(word_counts, words.get_feature_names_out())
        grams = _char_counter()
        char_counts = grams.fit_transform(texts).tocsr()
        return cls(word_counts, words.get_feature_names_out(), char_counts, grams.get_feature_names_out())

    def take(self, rows: Sequence[int] | np.ndarray) -> TermCounts:
        """The counts of the texts at ``rows``, in that order."""
        rows = np.asarray(rows, dtype=np.intp)
        return TermCounts(self.words[rows], self.word_terms, None if self.chars is None else self.chars[rows], self.char_terms)

    def __len__(self) -> int:
        return self.words.shape[0]


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

    def fit(self, texts: Sequence[str], counts: TermCounts | None = None) -> TfidfFeatures:
        """Learn the vocabulary (terms in at least two texts) and idf weights.

        Args:
            texts: The texts to learn from.
            counts: Their term counts, row-aligned (:class:`TermCounts`, with character grams if
                ``char``); the same vocabulary and idf, without tokenising the texts again.
        """
        return self._fit_counts(TermCounts.of(texts, char=self.char) if counts is None else counts)

    def transform(self, texts: Sequence[str], counts: TermCounts | None = None) -> sparse.csr_matrix:
        """One row per text: the word block then the character block, each l2-normalised.

        Args:
            texts: The texts to transform.
            counts: Their term counts, row-aligned, holding every term of the vocabulary (as
                the counts the vocabulary was fitted on do); saves tokenising the texts.
        """
        vocabulary, idf = self.fitted()
        n_words = self._n_words
        words, grams = list(vocabulary[:n_words]), [term[len(CHAR_PREFIX) :] for term in vocabulary[n_words:]]
        if counts is None:
            blocks = [_word_counter(words).transform(texts)] + ([_char_counter(grams).transform(texts)] if grams else [])
        else:
            blocks = [_columns(counts.words, counts.word_terms, words)]
            if grams:
                assert counts.chars is not None and counts.char_terms is not None, "character vocabulary, counts without characters"
                blocks.append(_columns(counts.chars, counts.char_terms, grams))
        weights = (idf[:n_words], idf[n_words:])
        tfidf = [self._weigh(block, weight) for block, weight in zip(blocks, weights, strict=False)]
        return sparse.hstack(tfidf, format="csr") if len(tfidf) > 1 else tfidf[0]

    def fitted(self) -> tuple[Sequence[str], np.ndarray]:
        """The vocabulary and idf weights, which fit() sets or the caller gave."""
        assert self.vocabulary is not None and self.idf is not None, "TfidfFeatures used before fit()"
        return self.vocabulary, self.idf

    def _fit_counts(self, counts: TermCounts) -> TfidfFeatures:
        """What TfidfVectorizer would learn from the counted texts: its pruning and idf, step for step."""
        min_df = _MIN_DF if len(counts) >= 2 * _MIN_DF else 1
        vocabulary: list[str] = []
        idf: list[np.ndarray] = []
        # Per block: counts, terms, vocabulary prefix, minimum document frequency, cap on terms.
        blocks: list[tuple[sparse.csr_matrix, np.ndarray, str, int, int | None]] = [(counts.words, counts.word_terms, "", min_df, None)]
        if self.char:
            assert counts.chars is not None and counts.char_terms is not None, "char=True needs counts with character grams"
            char_min_df = _CHAR_MIN_DF if len(counts) >= 2 * _CHAR_MIN_DF else 1
            blocks.append((counts.chars, counts.char_terms, CHAR_PREFIX, char_min_df, _CHAR_MAX_FEATURES))
        for matrix, terms, prefix, block_min_df, cap in blocks:
            kept, df = _prune(matrix, block_min_df, cap)
            vocabulary += [prefix + term for term in terms[kept]]
            # TfidfVectorizer's smooth idf: ln((1 + n) / (1 + df)) + 1.
            idf.append(np.log((1 + matrix.shape[0]) / (1 + df)) + 1)
        self.vocabulary = vocabulary
        self.idf = np.concatenate(idf).astype(np.float32)
        return self

    @staticmethod
    def _weigh(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
        counts = counts.astype(np.float32)
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


def _prune(counts: sparse.csr_matrix, min_df: int, max_features: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Columns that TfidfVectorizer keeps (in at least ``min_df`` rows, the ``max_features`` most
    frequent), and their document frequencies.

    TfidfVectorizer prunes among the terms of its own texts in sorted order, breaking ties in
    frequency by ``argsort`` over that order; the columns present in these rows are the same
    terms in the same order, so the same calls pick the same terms.
    """
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    present = np.flatnonzero(df)
    mask = df[present] >= min_df
    if max_features is not None and mask.sum() > max_features:
        frequency = np.asarray(counts.sum(axis=0)).ravel()[present]
        chosen = (-frequency[mask]).argsort()[:max_features]
        limited = np.zeros(len(present), dtype=bool)
        limited[np.flatnonzero(mask)[chosen]] = True
        mask = limited
    kept = present[mask]
    if not len(kept):
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    return kept, df[kept]


def _columns(counts: sparse.csr_matrix, terms: np.ndarray, vocabulary: Sequence[str]) -> sparse.csr_matrix:
    """The columns of ``counts`` for ``vocabulary``, in its order (every term is one of ``terms``, sorted)."""
    index = np.searchsorted(terms, vocabulary)
    return counts[:, index]
