"""The heads' logistic regression over unstacked blocks reaches scikit-learn's LogisticRegression optimum."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from matrixcoder.training.logistic import FeatureBlocks, fit_logistic


def _problem(seed: int = 0, n: int = 2000):
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(n, 16)).astype(np.float32)
    terms = sparse.random(n, 150, density=0.05, random_state=seed, format="csr", dtype=np.float32)
    stacked = np.hstack([dense, terms.toarray()]).astype(np.float64)
    # A rare positive class, as most labels are: balanced weights then matter.
    y = stacked @ rng.normal(size=stacked.shape[1]) + rng.normal(scale=2.0, size=n) > 3.0
    weight = rng.uniform(0.5, 2.0, size=n)
    return dense, terms, stacked, y, weight


def _objective(stacked, y, weight, C, coef, intercept):
    """scikit-learn's objective for class_weight="balanced" with sample weights, written out."""
    w = weight * np.where(y, weight.sum() / (2 * weight[y].sum()), weight.sum() / (2 * weight[~y].sum()))
    scores = stacked @ coef + intercept
    return (w @ (np.logaddexp(0, scores) - y * scores)) / w.sum() + coef @ coef / (2 * C * w.sum())


@pytest.mark.parametrize("C", [0.1, 2.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_same_optimum_as_scikit_learn_on_the_stacked_matrix(C, weighted):
    dense, terms, stacked, y, weight = _problem()
    weight = weight if weighted else None
    reference = LogisticRegression(C=C, class_weight="balanced", tol=1e-8, max_iter=10_000).fit(stacked, y, sample_weight=weight)
    coef, intercept = fit_logistic(FeatureBlocks([dense, terms]), y, weight, C, 1e-8, 10_000)
    assert 0.05 < y.mean() < 0.35
    ones = np.ones(len(y)) if weight is None else weight
    ours = _objective(stacked, y, ones, C, coef, intercept)
    theirs = _objective(stacked, y, ones, C, reference.coef_[0], reference.intercept_[0])
    assert ours == pytest.approx(theirs, rel=1e-6)
    # float32 products leave the coefficients a little apart along the optimum's flat directions.
    np.testing.assert_allclose(coef, reference.coef_[0], atol=0.01 * np.abs(reference.coef_).max())
    assert intercept == pytest.approx(reference.intercept_[0], abs=0.01)


def test_a_looser_tolerance_stops_short_of_the_optimum():
    dense, terms, stacked, y, weight = _problem(seed=1)
    tight = fit_logistic(FeatureBlocks([dense, terms]), y, weight, 2.0, 1e-8, 10_000)
    loose = fit_logistic(FeatureBlocks([dense, terms]), y, weight, 2.0, 1e-2, 10_000)
    assert _objective(stacked, y, weight, 2.0, *tight) < _objective(stacked, y, weight, 2.0, *loose) - 1e-6


def test_a_fit_stopped_by_the_iteration_limit_warns():
    dense, terms, _, y, weight = _problem(seed=2)
    with pytest.warns(ConvergenceWarning, match="did not converge in 3 iterations"):
        fit_logistic(FeatureBlocks([dense, terms]), y, weight, 2.0, 1e-8, 3)


def test_blocks_multiply_as_the_stacked_matrix():
    dense, terms, stacked, _, _ = _problem(n=50)
    blocks = FeatureBlocks([dense, terms])
    coef = np.random.default_rng(2).normal(size=(3, blocks.width))
    values = np.random.default_rng(3).normal(size=50)
    np.testing.assert_allclose(blocks.dot(coef), stacked @ coef.T, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(blocks.dot(coef[0]), stacked @ coef[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(blocks.transpose_dot(values), stacked.T @ values, rtol=1e-4, atol=1e-4)
    assert (len(blocks), blocks.width) == stacked.shape
