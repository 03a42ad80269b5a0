"""Tests for matrixcoder.evaluation.agreement against published reference values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matrixcoder.evaluation import agreement as ag

N = None

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C:
# 4 coders x 12 units with missing values. The same matrix (transposed) is the
# irrCAC dataset cac.raw4raters (Gwet, kgwet/irrCAC README).
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]

# Fleiss' kappa worked example (Wikipedia "Fleiss' kappa"; also the reference
# case in statsmodels' test suite): 10 subjects, 14 raters, 5 categories.
FLEISS_WIKIPEDIA = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# irrCAC dataset distrib.6raters (kgwet/irrCAC README): 15 subjects, 6 raters.
DISTRIB_6RATERS = [
    [0, 0, 0, 6, 0],
    [0, 3, 0, 0, 3],
    [0, 1, 4, 0, 1],
    [0, 0, 0, 0, 6],
    [0, 3, 0, 3, 0],
    [2, 0, 4, 0, 0],
    [0, 0, 4, 0, 2],
    [2, 0, 3, 1, 0],
    [2, 0, 0, 4, 0],
    [0, 0, 0, 0, 6],
    [1, 0, 0, 5, 0],
    [1, 1, 0, 4, 0],
    [0, 3, 3, 0, 0],
    [1, 0, 0, 5, 0],
    [0, 2, 0, 3, 1],
]

# irrCAC dataset cont3x3abstractors (kgwet/irrCAC README), rows rater 1, columns rater 2.
CONT3X3_ABSTRACTORS = [[13, 0, 0], [0, 20, 7], [0, 4, 56]]


def _expand(table: list[list[int]]) -> tuple[list[int], list[int]]:
    """Two label sequences whose contingency table is ``table``."""
    first, second = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            first += [i] * count
            second += [j] * count
    return first, second


def _singletons(data: list[list[object]]) -> list[list[frozenset | None]]:
    return [[None if v is None else frozenset({v}) for v in row] for row in data]


# --- Krippendorff's alpha -------------------------------------------------


@pytest.mark.parametrize(
    ("level", "reference"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_2011_reference_values(level: str, reference: float) -> None:
    assert ag.krippendorff_alpha(KRIPPENDORFF_2011, level) == pytest.approx(reference, abs=5e-4)


def test_krippendorff_nominal_matches_irrcac_to_five_decimals() -> None:
    # irrCAC README: krippen.alpha.raw(cac.raw4raters) -> coeff.val 0.74342.
    assert ag.krippendorff_alpha(KRIPPENDORFF_2011) == pytest.approx(0.74342, abs=5e-6)


def test_krippendorff_nominal_accepts_string_labels_and_nan() -> None:
    letters = [[N if v is None else "abcde"[v - 1] for v in row] for row in KRIPPENDORFF_2011]
    with_nan = [[math.nan if v is None else v for v in row] for row in KRIPPENDORFF_2011]
    assert ag.krippendorff_alpha(letters) == pytest.approx(0.743, abs=5e-4)
    assert ag.krippendorff_alpha(np.array(with_nan), "interval") == pytest.approx(0.849, abs=5e-4)


def test_krippendorff_drops_units_coded_once() -> None:
    extra = [row + [value] for row, value in zip(KRIPPENDORFF_2011, [N, 4, N, N], strict=True)]
    assert ag.krippendorff_alpha(extra) == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_rejects_degenerate_input() -> None:
    with pytest.raises(ValueError, match="at least two coders"):
        ag.krippendorff_alpha([[1, 2, 3]])
    with pytest.raises(ValueError, match="same units"):
        ag.krippendorff_alpha([[1, 2, 3], [1, 2]])
    with pytest.raises(ValueError, match="coded by at least two coders"):
        ag.krippendorff_alpha([[1, N, 3], [N, 2, N]])
    with pytest.raises(ValueError, match="identical"):
        ag.krippendorff_alpha([["x", "x", "x"], ["x", "x", N]])
    with pytest.raises(ValueError, match="unknown level"):
        ag.krippendorff_alpha(KRIPPENDORFF_2011, "cardinal")
    with pytest.raises(ValueError, match="numeric"):
        ag.krippendorff_alpha([["a", "b"], ["a", "b"]], "interval")


def test_krippendorff_identical_values_outside_pairable_units_still_degenerate() -> None:
    # The unit holding "y" is coded once, so it is dropped and only "x" is pairable.
    with pytest.raises(ValueError, match="identical"):
        ag.krippendorff_alpha([["x", "x", "y"], ["x", "x", N]])


# --- Fleiss' kappa ---------------------------------------------------------


def test_fleiss_wikipedia_example() -> None:
    # Wikipedia worked example: P-bar = 0.378, P-bar_e = 0.213, kappa = 0.210.
    assert ag.fleiss_kappa(FLEISS_WIKIPEDIA) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_irrcac_distrib_6raters() -> None:
    # irrCAC README: fleiss.kappa.dist(distrib.6raters) -> 0.4139265.
    assert ag.fleiss_kappa(DISTRIB_6RATERS) == pytest.approx(0.4139265, abs=5e-7)


def test_fleiss_ignores_unused_category() -> None:
    padded = [row + [0] for row in FLEISS_WIKIPEDIA]
    assert ag.fleiss_kappa(padded) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_rejects_degenerate_input() -> None:
    with pytest.raises(ValueError, match="one category"):
        ag.fleiss_kappa([[3, 0], [3, 0]])
    with pytest.raises(ValueError, match="at least two raters"):
        ag.fleiss_kappa([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="same number of raters"):
        ag.fleiss_kappa([[2, 1], [1, 1]])
    with pytest.raises(ValueError, match="non-negative integers"):
        ag.fleiss_kappa([[2.5, 0.5], [1, 2]])


# --- Cohen's kappa and percent agreement -----------------------------------


def test_cohen_kappa_wikipedia_2x2_example() -> None:
    # Wikipedia "Cohen's kappa", 50 proposals: Yes/Yes 20, Yes/No 5, No/Yes 10,
    # No/No 15 -> p_o = 0.7, p_e = 0.5, kappa = 0.4.
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert ag.cohen_kappa(first, second) == pytest.approx(0.40, abs=1e-12)
    assert ag.percent_agreement(first, second) == pytest.approx(0.70, abs=1e-12)


def test_cohen_kappa_and_percent_agreement_irrcac_3x3() -> None:
    # irrCAC README: kappa2.table -> 0.7964094, pa2.table -> 0.89.
    first, second = _expand(CONT3X3_ABSTRACTORS)
    assert ag.cohen_kappa(first, second) == pytest.approx(0.7964094, abs=5e-7)
    assert ag.percent_agreement(first, second) == pytest.approx(0.89, abs=1e-12)


def test_cohen_kappa_counts_a_code_one_rater_never_uses() -> None:
    # Rater 2 never says "c". Margins: rater 1 (a, b, c) = (2/4, 1/4, 1/4), rater 2 = (3/4, 1/4, 0).
    # p_o = 3/4; p_e = (2/4)(3/4) + (1/4)(1/4) + (1/4)(0) = 7/16; kappa = (12/16 - 7/16) / (9/16) = 5/9.
    assert ag.cohen_kappa(["a", "a", "b", "c"], ["a", "a", "b", "a"]) == pytest.approx(5 / 9, abs=1e-12)


def test_percent_agreement_hand_checked() -> None:
    assert ag.percent_agreement("abca", "abaa") == 0.75
    assert ag.percent_agreement(["x"] * 4, ["x"] * 4) == 1.0


def test_cohen_kappa_single_category_raises() -> None:
    with pytest.raises(ValueError, match="one single category"):
        ag.cohen_kappa(["x"] * 5, ["x"] * 5)


@pytest.mark.parametrize("function", [ag.cohen_kappa, ag.gwet_ac1, ag.percent_agreement])
def test_two_rater_input_validation(function) -> None:
    with pytest.raises(ValueError, match="unequal"):
        function([1, 2, 1], [1, 2])
    with pytest.raises(ValueError, match="at least one unit"):
        function([], [])
    with pytest.raises(ValueError, match="missing"):
        function([1, None, 2], [1, 2, 2])


# --- Gwet's AC1 --------------------------------------------------------------


def test_gwet_ac1_irrcac_3x3() -> None:
    # irrCAC README: gwet.ac1.table(cont3x3abstractors) -> 0.8493305.
    assert ag.gwet_ac1_table(CONT3X3_ABSTRACTORS) == pytest.approx(0.8493305, abs=5e-7)
    assert ag.gwet_ac1(*_expand(CONT3X3_ABSTRACTORS)) == pytest.approx(0.8493305, abs=5e-7)


def test_gwet_ac1_table_counts_unused_category() -> None:
    # Same table padded with an unused 4th category: q = 4. Prevalences
    # (0.13, 0.255, 0.615, 0); sum pi(1 - pi) = 0.53985; p_e = 0.53985 / 3 = 0.17995;
    # AC1 = (0.89 - 0.17995) / (1 - 0.17995) = 0.865862.
    padded = [row + [0] for row in CONT3X3_ABSTRACTORS] + [[0, 0, 0, 0]]
    assert ag.gwet_ac1_table(padded) == pytest.approx(0.865862, abs=5e-7)


def test_kappa_paradox_ac1_stays_high() -> None:
    # High-prevalence 2x2 table [[118, 5], [2, 0]] (n = 125), derived by hand:
    # p_o = 118/125 = 0.944; rater-1 margins (123, 2), rater-2 margins (120, 5).
    # Kappa: p_e = (123*120 + 2*5) / 125^2 = 0.94528 -> (0.944 - 0.94528) / 0.05472 = -0.02339.
    # AC1: pi = (243/250, 7/250) = (0.972, 0.028); p_e = 2 * 0.972 * 0.028 / (2 - 1) = 0.054432
    #      -> (0.944 - 0.054432) / 0.945568 = 0.94078.
    table = [[118, 5], [2, 0]]
    first, second = _expand(table)
    assert ag.cohen_kappa(first, second) == pytest.approx(-0.02339, abs=5e-5)
    assert ag.gwet_ac1_table(table) == pytest.approx(0.94078, abs=5e-5)
    assert ag.gwet_ac1(first, second) == pytest.approx(0.94078, abs=5e-5)


def test_gwet_ac1_single_category_is_one() -> None:
    assert ag.gwet_ac1(["x"] * 5, ["x"] * 5) == 1.0
    assert ag.gwet_ac1_table([[7, 0], [0, 0]]) == 1.0
    assert ag.gwet_ac1_table([[7]]) == 1.0


def test_gwet_ac1_table_rejects_bad_tables() -> None:
    with pytest.raises(ValueError, match="square"):
        ag.gwet_ac1_table([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match="no rated units"):
        ag.gwet_ac1_table([[0, 0], [0, 0]])
    with pytest.raises(ValueError, match="non-negative"):
        ag.gwet_ac1_table([[1, -1], [0, 2]])


# --- MASI distance and set-valued alpha ---------------------------------------


def test_masi_distance_passonneau_cases() -> None:
    a = frozenset({1, 2})
    assert ag.masi_distance(a, frozenset({1, 2})) == 0.0
    # NLTK reference doctest: masi_distance({1, 2}, {1, 2, 3, 4}) == 0.665 (J = 1/2, M = 0.67).
    assert ag.masi_distance(a, frozenset({1, 2, 3, 4})) == pytest.approx(0.665, abs=1e-12)
    # Overlap without subsumption: J = 1/3, M = 0.33 -> 1 - 0.11 = 0.89.
    assert ag.masi_distance(a, frozenset({2, 3})) == pytest.approx(0.89, abs=1e-12)
    assert ag.masi_distance(a, frozenset({3, 4})) == 1.0
    assert ag.masi_distance(frozenset(), frozenset()) == 0.0
    assert ag.masi_distance(frozenset(), a) == 1.0


def test_alpha_sets_with_singletons_equals_nominal_alpha() -> None:
    assert ag.krippendorff_alpha_sets(_singletons(KRIPPENDORFF_2011)) == pytest.approx(0.743, abs=5e-4)
    assert ag.krippendorff_alpha_sets(_singletons(KRIPPENDORFF_2011)) == pytest.approx(ag.krippendorff_alpha(KRIPPENDORFF_2011), abs=1e-12)


def test_alpha_sets_hand_computed() -> None:
    # Unit 1: {a} vs {a,b}; unit 2: {b} vs {b}; n = 4 pairable values.
    # delta({a},{a,b}) = 1 - (1/2)(0.67) = 0.665, delta({a},{b}) = 1, delta({a,b},{b}) = 0.665.
    # D_o = (2 * 0.665 / 1) / 4 = 0.3325.
    # D_e = (2*0.665 + 2*2*1 + 2*2*0.665) / (4*3) = 7.99 / 12.
    # alpha = 1 - 0.3325 * 12 / 7.99 = 0.500626.
    data = [[{"a"}, {"b"}], [{"a", "b"}, {"b"}]]
    assert ag.krippendorff_alpha_sets(data) == pytest.approx(0.500626, abs=5e-7)


def test_alpha_sets_missing_and_degenerate() -> None:
    one = frozenset({"a"})
    # Unit 3 is coded once and dropped; the empty set is a real coding.
    data = [[one, frozenset(), one], [one, frozenset(), None]]
    assert ag.krippendorff_alpha_sets(data) == 1.0
    with pytest.raises(ValueError, match="same set"):
        ag.krippendorff_alpha_sets([[one, one], [one, None], [one, one]])
    with pytest.raises(ValueError, match="at least two coders"):
        ag.krippendorff_alpha_sets([[one, one]])
    with pytest.raises(ValueError, match="sets or frozensets"):
        ag.krippendorff_alpha_sets([["ab", "a"], ["ab", "b"]])


# --- Bootstrap -----------------------------------------------------------------


def _noisy_raters(n_units: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 3, n_units)
    second = np.where(rng.random(n_units) < 0.25, rng.integers(0, 3, n_units), first)
    return first, second


def test_bootstrap_is_seeded_and_contains_estimate() -> None:
    first, second = _noisy_raters(80, seed=1)
    interval = ag.bootstrap_ci(ag.cohen_kappa, first, second, n_resamples=100, seed=7)
    assert interval == ag.bootstrap_ci(ag.cohen_kappa, first, second, n_resamples=100, seed=7)
    assert interval != ag.bootstrap_ci(ag.cohen_kappa, first, second, n_resamples=100, seed=8)
    assert interval[0] <= ag.cohen_kappa(first, second) <= interval[1]


def test_bootstrap_width_shrinks_with_more_units() -> None:
    small = ag.bootstrap_ci(ag.cohen_kappa, *_noisy_raters(40, seed=2), n_resamples=100)
    large = ag.bootstrap_ci(ag.cohen_kappa, *_noisy_raters(640, seed=2), n_resamples=100)
    assert large[1] - large[0] < (small[1] - small[0]) / 2


def test_bootstrap_over_unit_axis_of_matrices() -> None:
    low, high = ag.bootstrap_ci(ag.krippendorff_alpha, KRIPPENDORFF_2011, n_resamples=200)
    assert low <= 0.743 <= high
    low, high = ag.bootstrap_ci(ag.fleiss_kappa, FLEISS_WIKIPEDIA, n_resamples=200, axis=0)
    assert low <= 0.210 <= high


def test_bootstrap_skips_degenerate_resamples() -> None:
    # About a third of resamples contain no "y" and make kappa undefined; the rest give 1.0.
    labels = ["x"] * 9 + ["y"]
    assert ag.bootstrap_ci(ag.cohen_kappa, labels, labels, n_resamples=200) == (1.0, 1.0)


def test_bootstrap_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="resamples gave a defined statistic"):
        ag.bootstrap_ci(ag.cohen_kappa, ["x"] * 10, ["x"] * 10, n_resamples=50)
    with pytest.raises(ValueError, match="disagree on the number of units"):
        ag.bootstrap_ci(ag.cohen_kappa, [1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="confidence"):
        ag.bootstrap_ci(ag.cohen_kappa, [1, 2], [1, 2], n_resamples=20, confidence=1.5)
    with pytest.raises(ValueError, match="at least one sample"):
        ag.bootstrap_ci(ag.cohen_kappa)


# --- Never NaN ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "args"),
    [
        (ag.cohen_kappa, (["x", "x"], ["y", "y"])),
        (ag.cohen_kappa, (["x", "x"], ["x", "x"])),
        (ag.gwet_ac1, (["x", "x"], ["y", "y"])),
        (ag.percent_agreement, (["x"], ["y"])),
        (ag.fleiss_kappa, ([[2, 0], [2, 0]],)),
        (ag.fleiss_kappa, ([[1, 1], [1, 1]],)),
        (ag.krippendorff_alpha, ([[1, 1], [1, 1]],)),
        (ag.krippendorff_alpha, ([[0, 0], [0, 1]], "ratio")),
        (ag.krippendorff_alpha, ([[1, N], [N, 1]],)),
        (ag.krippendorff_alpha_sets, ([[frozenset(), frozenset()], [frozenset(), frozenset()]],)),
    ],
)
def test_degenerate_input_never_returns_nan(function, args) -> None:
    try:
        value = function(*args)
    except ValueError:
        return
    assert isinstance(value, float)
    assert math.isfinite(value)
