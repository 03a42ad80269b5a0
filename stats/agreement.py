"""Inter-coder agreement statistics over plain data.

Every statistic takes plain Python/NumPy data and returns a finite ``float``.
Input on which a statistic is undefined raises ``ValueError`` with a message
saying why; no function returns NaN.

Conventions shared by the module:

* Two-rater statistics (``cohen_kappa``, ``gwet_ac1``, ``percent_agreement``)
  take two equal-length label sequences without missing labels.
* Multi-coder data for Krippendorff's alpha is coders x units; ``None`` or NaN
  marks a missing coding. Units coded fewer than twice are not pairable and are
  dropped before computing alpha.
* Chance-corrected coefficients whose expected agreement is 1 (every rating in
  one single category) are 0/0; ``cohen_kappa``, ``fleiss_kappa``,
  ``krippendorff_alpha`` and ``krippendorff_alpha_sets`` raise ``ValueError``
  there. Gwet's AC1 stays defined there and returns 1.0.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Literal, cast

import krippendorff
import numpy as np
import numpy.typing as npt
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as _statsmodels_fleiss_kappa

__all__ = [
    "bootstrap_ci",
    "bootstrap_indices",
    "cohen_kappa",
    "fleiss_kappa",
    "gwet_ac1",
    "gwet_ac1_table",
    "krippendorff_alpha",
    "krippendorff_alpha_sets",
    "masi_distance",
    "percent_agreement",
    "percentile_interval",
]

_LEVELS = ("nominal", "ordinal", "interval", "ratio")
_Level = Literal["nominal", "ordinal", "interval", "ratio"]
# One rater's labels: a sequence or a 1-d array.
_Labels = Sequence[Hashable] | np.ndarray
# Passonneau (2006) monotonicity weights, at the two-decimal values used in the
# paper and in NLTK's reference implementation.
_SUBSET_WEIGHT = 0.67
_OVERLAP_WEIGHT = 0.33


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def _paired(a: _Labels, b: _Labels) -> tuple[list[Hashable], list[Hashable]]:
    """Validate two raters' labels and return them as lists."""
    first, second = list(a), list(b)
    if len(first) != len(second):
        raise ValueError(f"raters labelled unequal numbers of units: {len(first)} vs {len(second)}")
    if not first:
        raise ValueError("need at least one unit labelled by both raters")
    if any(_is_missing(label) for label in first + second):
        raise ValueError("two-rater statistics take no missing labels; drop incomplete units or use krippendorff_alpha")
    return first, second


def percent_agreement(a: _Labels, b: _Labels) -> float:
    """Share of units on which two raters chose the same label.

    Args:
        a: Labels of the first rater, one per unit.
        b: Labels of the second rater, aligned with ``a``.

    Returns:
        Agreement in [0, 1]; 1.0 when the raters agree everywhere, including
        when both used one single category.

    Raises:
        ValueError: On unequal lengths, no units, or missing labels.
    """
    first, second = _paired(a, b)
    return float(sum(x == y for x, y in zip(first, second, strict=True)) / len(first))


def cohen_kappa(a: _Labels, b: _Labels) -> float:
    """Cohen's (1960) kappa for two raters on nominal labels.

    Categories are the union of the labels both raters used, so a code that
    one rater never uses still counts through the other rater's marginals; a
    code neither rater used has no effect on kappa.

    Args:
        a: Labels of the first rater, one per unit.
        b: Labels of the second rater, aligned with ``a``.

    Returns:
        Kappa in [-1, 1].

    Raises:
        ValueError: On unequal lengths, no units, missing labels, or when both
            raters used one single identical category: expected agreement is
            then 1 and kappa is 0/0 (use ``percent_agreement`` or ``gwet_ac1``).
    """
    first, second = _paired(a, b)
    if len(set(first) | set(second)) < 2:
        raise ValueError(
            "Cohen's kappa is undefined when both raters use one single category "
            "(expected agreement is 1); report percent_agreement or gwet_ac1 instead"
        )
    return float(cohen_kappa_score(first, second))


def fleiss_kappa(counts: npt.ArrayLike) -> float:
    """Fleiss' (1971) kappa from a subjects x categories matrix of rater counts.

    Cell ``[i, j]`` is how many raters put subject ``i`` in category ``j``.
    An all-zero column (a category nobody used) has no effect on kappa.

    Args:
        counts: Non-negative integer counts; every row must sum to the same
            number of raters, at least two.

    Returns:
        Fleiss' kappa.

    Raises:
        ValueError: On a malformed matrix, unequal raters per subject, fewer
            than two raters, or when every rating falls in one category
            (expected agreement 1, kappa 0/0).
    """
    table = np.asarray(counts, dtype=float)
    if table.ndim != 2 or table.size == 0:
        raise ValueError("counts must be a non-empty subjects x categories matrix")
    if not np.all(np.isfinite(table)) or np.any(table < 0) or np.any(table != np.round(table)):
        raise ValueError("counts must be non-negative integers")
    raters = table.sum(axis=1)
    if np.any(raters != raters[0]):
        raise ValueError("every subject must be rated by the same number of raters (rows must have equal sums)")
    if raters[0] < 2:
        raise ValueError(f"Fleiss' kappa needs at least two raters per subject, got {raters[0]:g}")
    if np.count_nonzero(table.sum(axis=0)) < 2:
        raise ValueError("Fleiss' kappa is undefined when every rating falls in one category (expected agreement is 1)")
    return float(_statsmodels_fleiss_kappa(table, method="fleiss"))


def gwet_ac1_table(table: npt.ArrayLike) -> float:
    """Gwet's (2008) AC1 for two raters from a square contingency table.

    Cell ``[i, j]`` counts units the first rater put in category ``i`` and the
    second in category ``j``. The number of categories ``q`` is the table
    size, so a category nobody used (a zero row and column) still counts.

    Args:
        table: Square matrix of non-negative counts with a positive total.

    Returns:
        AC1. When all units fall in one category chance agreement is 0 and AC1
        is 1.0 (a 1 x 1 table follows the same convention).

    Raises:
        ValueError: On a non-square, negative, non-finite or empty table.
    """
    counts = np.asarray(table, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.size == 0:
        raise ValueError("table must be a non-empty square categories x categories matrix")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("table counts must be finite and non-negative")
    total = counts.sum()
    if total == 0:
        raise ValueError("table holds no rated units")
    observed = np.trace(counts) / total
    prevalence = (counts.sum(axis=0) + counts.sum(axis=1)) / (2 * total)
    # Chance agreement is at most 1/q <= 1/2, so the final division is safe; max()
    # only covers q == 1, where every prevalence term is already 0.
    chance = float(np.sum(prevalence * (1 - prevalence))) / max(counts.shape[0] - 1, 1)
    return float((observed - chance) / (1 - chance))


def gwet_ac1(a: _Labels, b: _Labels) -> float:
    """Gwet's (2008) AC1 for two raters on nominal labels.

    Categories are the labels either rater used (as in irrCAC without
    ``categ``); to count a category nobody used, pass a table with a zero row
    and column to ``gwet_ac1_table``.

    Args:
        a: Labels of the first rater, one per unit.
        b: Labels of the second rater, aligned with ``a``.

    Returns:
        AC1; 1.0 when both raters used one single identical category.

    Raises:
        ValueError: On unequal lengths, no units, or missing labels.
    """
    first, second = _paired(a, b)
    index = {label: i for i, label in enumerate(dict.fromkeys(first + second))}
    table = np.zeros((len(index), len(index)))
    np.add.at(table, ([index[x] for x in first], [index[y] for y in second]), 1)
    return gwet_ac1_table(table)


def _pairable_rows(data: Sequence[Sequence[Any]] | np.ndarray) -> list[list[Any]]:
    """Coder rows restricted to units that at least two coders coded."""
    rows = [list(row) for row in data]
    if len(rows) < 2:
        raise ValueError(f"agreement needs at least two coders, got {len(rows)}")
    if len({len(row) for row in rows}) != 1:
        raise ValueError("every coder row must span the same units; mark missing codings with None")
    # A unit coded once has no partner value, so it carries no information on agreement.
    keep = [j for j in range(len(rows[0])) if sum(not _is_missing(row[j]) for row in rows) >= 2]
    if not keep:
        raise ValueError("no unit was coded by at least two coders")
    return [[row[j] for j in keep] for row in rows]


def _reliability_matrix(rows: list[list[Any]], level: str) -> np.ndarray:
    """Float coders x units matrix with NaN for missing, as the krippendorff package expects."""
    convert: Callable[[Any], float] = float
    if level == "nominal":
        # Nominal labels may be any hashable; only their identity matters.
        present = (value for row in rows for value in row if not _is_missing(value))
        convert = {label: float(i) for i, label in enumerate(dict.fromkeys(present))}.__getitem__
    try:
        matrix = np.array([[math.nan if _is_missing(v) else convert(v) for v in row] for row in rows])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{level} alpha needs numeric values: {error}") from error
    if np.isinf(matrix).any():
        raise ValueError(f"{level} alpha needs finite values")
    return matrix


def krippendorff_alpha(data: Sequence[Sequence[Any]] | np.ndarray, level: str = "nominal") -> float:
    """Krippendorff's alpha for coders x units data with missing codings.

    Uses the ``krippendorff`` package on the pairable units. Units coded by
    fewer than two coders are dropped. Nominal labels may be any hashable
    values; other levels need numbers. A value nobody used has no effect.

    Args:
        data: One row per coder, one column per unit; ``None`` or NaN marks a
            missing coding.
        level: One of ``"nominal"``, ``"ordinal"``, ``"interval"``, ``"ratio"``.

    Returns:
        Alpha; 1.0 for perfect agreement over at least two distinct values.

    Raises:
        ValueError: On an unknown level, fewer than two coders, ragged rows, no
            unit coded twice, non-numeric values for a non-nominal level, or
            when all pairable values are identical (expected disagreement 0,
            alpha 0/0).
    """
    if level not in _LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {_LEVELS}")
    matrix = _reliability_matrix(_pairable_rows(data), level)
    if np.unique(matrix[~np.isnan(matrix)]).size < 2:
        raise ValueError("Krippendorff's alpha is undefined when all pairable values are identical (expected disagreement is 0)")
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement=cast(_Level, level)))  # checked above


def masi_distance(a: frozenset, b: frozenset) -> float:
    """MASI distance between two sets of codes (Passonneau 2006).

    Distance is ``1 - J * M`` with ``J`` the Jaccard index and ``M`` = 1 for
    identical sets, 0.67 when one set is a subset of the other, 0.33 when they
    overlap otherwise, and 0 when disjoint. Two empty sets are identical and
    have distance 0 (Jaccard would be 0/0); an empty set against a non-empty
    one has distance 1.

    Args:
        a: First set of codes.
        b: Second set of codes.

    Returns:
        Distance in [0, 1].
    """
    first, second = frozenset(a), frozenset(b)
    if first == second:
        return 0.0
    shared = len(first & second)
    if first <= second or second <= first:
        monotonicity = _SUBSET_WEIGHT
    elif shared:
        monotonicity = _OVERLAP_WEIGHT
    else:
        monotonicity = 0.0
    return 1.0 - shared / len(first | second) * monotonicity


def _as_code_set(value: Any) -> frozenset:
    if not isinstance(value, set | frozenset):
        raise ValueError(f"set-valued codings must be sets or frozensets (None if missing), got {value!r}")
    return frozenset(value)


def _ordered_pair_distance(counts: Counter[frozenset]) -> float:
    """Sum of MASI distances over ordered pairs of codings, grouping identical sets."""
    items = list(counts.items())
    return sum(n_a * n_b * masi_distance(set_a, set_b) for set_a, n_a in items for set_b, n_b in items)


def krippendorff_alpha_sets(data: Sequence[Sequence[Any]]) -> float:
    """Krippendorff's alpha for set-valued codings with MASI distance.

    General alpha ``1 - D_o / D_e`` over pairable values: ``D_o`` averages the
    distance between codings within a unit (each unit weighted by
    ``1 / (m_u - 1)`` for its ``m_u`` codings), ``D_e`` between any two
    pairable codings. With singleton sets it equals nominal alpha. An empty
    set is a coding ("no code applies"); only ``None`` is missing.

    Args:
        data: One row per coder, one column per unit; each value is a set of
            codes or ``None``/NaN when missing.

    Returns:
        Alpha.

    Raises:
        ValueError: On fewer than two coders, ragged rows, no unit coded twice,
            non-set values, or when every pairable coding is the same set
            (expected disagreement 0, alpha 0/0).
    """
    rows = _pairable_rows(data)
    units = [[_as_code_set(v) for v in column if not _is_missing(v)] for column in zip(*rows, strict=True)]
    n_values = sum(len(unit) for unit in units)
    observed = sum(_ordered_pair_distance(Counter(unit)) / (len(unit) - 1) for unit in units) / n_values
    expected = _ordered_pair_distance(Counter(v for unit in units for v in unit)) / (n_values * (n_values - 1))
    if expected == 0:
        raise ValueError("Krippendorff's alpha is undefined when every pairable coding is the same set (expected disagreement is 0)")
    return 1.0 - observed / expected


def bootstrap_ci(
    statistic: Callable[..., float],
    *samples: npt.ArrayLike,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    axis: int = -1,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval over units.

    Each replicate draws unit indices with replacement and applies the same
    indices along ``axis`` of every sample, so paired labels stay paired.
    Replicates where ``statistic`` raises ``ValueError`` (a degenerate
    resample, e.g. one category only) are skipped.

    Args:
        statistic: Function of the resampled samples (NumPy arrays), e.g.
            ``cohen_kappa`` or ``krippendorff_alpha``.
        *samples: Data sharing the unit axis, e.g. two label sequences, or one
            coders x units matrix.
        n_resamples: Number of bootstrap replicates.
        confidence: Coverage of the interval, in (0, 1).
        seed: Seed of the NumPy random generator.
        axis: Axis of each sample that indexes units; -1 suits label sequences
            and coders x units data, 0 suits Fleiss' subjects x categories
            counts.

    Returns:
        The ``(low, high)`` percentile interval.

    Raises:
        ValueError: On no samples, samples with different unit counts, no
            units, bad ``n_resamples``/``confidence``, or when fewer than half
            the replicates give a defined statistic.
    """
    if not samples:
        raise ValueError("bootstrap_ci needs at least one sample")
    arrays = [np.asarray(sample) for sample in samples]
    unit_counts = {array.shape[axis] for array in arrays}
    if len(unit_counts) != 1:
        raise ValueError(f"samples disagree on the number of units: {sorted(unit_counts)}")
    estimates = []
    for indices in bootstrap_indices(unit_counts.pop(), n_resamples, seed):
        try:
            estimates.append(statistic(*(np.take(array, indices, axis=axis) for array in arrays)))
        except ValueError:
            continue
    return percentile_interval(estimates, n_resamples, confidence)


def bootstrap_indices(n_units: int, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """The seeded unit draws behind :func:`bootstrap_ci`, for statistics vectorised over replicates.

    Args:
        n_units: Number of units to resample.
        n_resamples: Number of bootstrap replicates.
        seed: Seed of the NumPy random generator.

    Returns:
        Integer array ``n_resamples x n_units``; row ``r`` holds the units of replicate ``r``.

    Raises:
        ValueError: On no units or a non-positive ``n_resamples``.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be positive, got {n_resamples}")
    if n_units == 0:
        raise ValueError("samples hold no units")
    return np.random.default_rng(seed).integers(0, n_units, size=(n_resamples, n_units))


def percentile_interval(estimates: Sequence[float], n_resamples: int, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the defined bootstrap estimates, as :func:`bootstrap_ci` reports it.

    Args:
        estimates: The replicates' estimates, undefined ones already left out.
        n_resamples: How many replicates were drawn, defined or not.
        confidence: Coverage of the interval, in (0, 1).

    Returns:
        The ``(low, high)`` percentile interval.

    Raises:
        ValueError: On a bad ``confidence``, or when fewer than half the replicates gave a
            defined statistic.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if 2 * len(estimates) < n_resamples:
        raise ValueError(
            f"only {len(estimates)} of {n_resamples} resamples gave a defined statistic; "
            "too few units or too little variation for a bootstrap interval"
        )
    tail = (1 - confidence) / 2
    low, high = np.quantile(estimates, [tail, 1 - tail])
    return float(low), float(high)
