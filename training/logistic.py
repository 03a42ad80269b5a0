"""Binary logistic regression over feature blocks that are never stacked into one matrix.

The heads learn from a dense embedding (384 columns) beside sparse TF-IDF blocks. Stacked into
one sparse matrix, as scikit-learn's ``LogisticRegression`` needs them, the embedding's 384
stored entries per row are two thirds of the matrix, multiplied entry by entry, in float64. Each
solver step reads the matrix twice (scores, then gradient), and on a 2-core machine that
reading is the cost of training. Kept apart, the embedding is multiplied by BLAS and both blocks
stay float32: the same fits take about 40% less time.

The objective, its solver and the stopping rule are scikit-learn's own for
``LogisticRegression(C=C, class_weight="balanced", solver="lbfgs", tol=tol)``: the weighted mean
half-binomial loss plus ``||w||^2 / (2 C sum(weights))``, the intercept unpenalised, balanced
class weights that take the sample weights into account, minimised from zero by scipy's L-BFGS-B
with ``gtol=tol``, ``maxls=50`` and ``ftol=64 eps``. ``tests/test_logistic.py`` checks the
coefficients against ``LogisticRegression`` on the stacked matrix.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy import optimize, sparse
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning

__all__ = ["FeatureBlocks", "fit_logistic"]


class FeatureBlocks:
    """Feature blocks side by side (dense arrays or sparse matrices, same rows), held as float32.

    Args:
        blocks: The blocks in column order.

    Examples:
        >>> blocks = FeatureBlocks([np.eye(2), sparse.csr_matrix(np.ones((2, 1)))])
        >>> blocks.width, blocks.dot(np.array([1.0, 2.0, 3.0])).tolist()
        (3, [4.0, 5.0])
    """

    def __init__(self, blocks: Sequence[np.ndarray | sparse.spmatrix]) -> None:
        self.blocks = [
            sparse.csr_matrix(block, dtype=np.float32) if sparse.issparse(block) else np.ascontiguousarray(block, dtype=np.float32)
            for block in blocks
        ]
        self.edges = np.cumsum([0] + [block.shape[1] for block in self.blocks])

    @property
    def width(self) -> int:
        return int(self.edges[-1])

    def __len__(self) -> int:
        return self.blocks[0].shape[0]

    def dot(self, coef: np.ndarray) -> np.ndarray:
        """``X @ coef`` for a coefficient vector (one per column), or ``X @ coef.T`` for a row per target."""
        coef = np.asarray(coef, dtype=np.float32)
        spans = zip(self.edges[:-1], self.edges[1:], strict=True)
        return np.asarray(
            sum(block @ coef[..., start:end].T for block, (start, end) in zip(self.blocks, spans, strict=True)), dtype=np.float64
        )

    def transpose_dot(self, values: np.ndarray) -> np.ndarray:
        """``X.T @ values`` for one value per row."""
        values = np.asarray(values, dtype=np.float32)
        return np.concatenate([np.asarray(block.T @ values).ravel() for block in self.blocks]).astype(np.float64)


def fit_logistic(
    X: FeatureBlocks, y: np.ndarray, sample_weight: np.ndarray | None, C: float, tol: float, max_iter: int
) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of a balanced-weight L2 logistic regression (see the module docstring).

    Args:
        X: The features.
        y: One boolean per row; both classes must occur.
        sample_weight: Weight of each row; None weighs all alike.
        C: Inverse regularisation strength.
        tol: Stop when no gradient entry exceeds this.
        max_iter: Most L-BFGS iterations; a fit stopped by them warns (``ConvergenceWarning``), as scikit-learn's does.

    Examples:
        >>> X = FeatureBlocks([np.array([[0.0], [1.0], [2.0], [3.0]])])
        >>> coef, intercept = fit_logistic(X, np.array([False, False, True, True]), None, 1.0, 1e-6, 100)
        >>> bool(coef[0] > 0 > intercept)
        True
    """
    y = np.asarray(y, dtype=bool)
    weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    # Balanced: each class gets half of the total weight (scikit-learn's "balanced" given sample weights).
    weight = weight * np.where(y, weight.sum() / (2 * weight[y].sum()), weight.sum() / (2 * weight[~y].sum()))
    total = weight.sum()
    weight = weight / total
    penalty = 1.0 / (C * total)
    target = y.astype(np.float64)

    def loss_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef, intercept = theta[:-1], theta[-1]
        scores = X.dot(coef) + intercept
        loss = weight @ (np.logaddexp(0.0, scores) - target * scores) + 0.5 * penalty * (coef @ coef)
        residual = weight * (expit(scores) - target)
        return float(loss), np.append(X.transpose_dot(residual) + penalty * coef, residual.sum())

    result = optimize.minimize(
        loss_and_gradient,
        np.zeros(X.width + 1),
        method="L-BFGS-B",
        jac=True,
        options={"maxiter": max_iter, "maxls": 50, "gtol": tol, "ftol": 64 * np.finfo(float).eps},
    )
    if not result.success:
        # As LogisticRegression does: the fit is used, but the caller is told it stopped early.
        warnings.warn(
            f"logistic regression did not converge in {result.nit} iterations: {result.message}", ConvergenceWarning, stacklevel=2
        )
    return result.x[:-1], float(result.x[-1])
