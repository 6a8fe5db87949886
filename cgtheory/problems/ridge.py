"""ℓ2-regularized least squares (ridge regression) with exact µ, L and θ*."""

from __future__ import annotations

import numpy as np
import scipy.sparse.linalg

from cgtheory.problems.base import DENSE_MAX_DIM, GeneralizedLinearProblem, _weighted_gram, solve_positive_definite

# Smallest µ/L accepted as strongly convex; below it XᵀX/n + λI is singular to
# working precision.
_MIN_INVERSE_CONDITION = 1e-12


class RidgeProblem(GeneralizedLinearProblem):
    """Ridge regression F(θ) = (1/2n)‖Xθ − y‖² + (λ/2)‖θ‖².

    Each example contributes f_i(θ) = ½(x_iᵀθ − y_i)² + (λ/2)‖θ‖², so F is
    their mean. F is quadratic with Hessian XᵀX/n + λI everywhere, hence

    * µ and L are exactly the smallest and largest eigenvalues of XᵀX/n + λI,
    * θ* solves (XᵀX/n + λI) θ = Xᵀy/n (Cholesky for d ≤ dense_max_dim,
      conjugate gradients above).

    scikit-learn's ``Ridge(alpha=n·λ, fit_intercept=False)`` minimizes n·F, so
    it has the same minimizer.

    Args:
        X: features, shape (n, d), dense or scipy.sparse.
        y: real targets, shape (n,).
        regularization: λ ≥ 0; λ = 0 is accepted only when XᵀX/n is nonsingular.
        dataset, standardization, intercept: descriptions kept in the record.
        dense_max_dim: largest d for which XᵀX is formed explicitly.

    Example:
        >>> import numpy as np
        >>> problem = RidgeProblem(np.eye(3), np.array([1.0, 2.0, 3.0]), 0.5)
        >>> problem.record.mu, problem.record.L
        (0.8333333333333333, 0.8333333333333333)
    """

    kind = "ridge"

    def __init__(self, X, y, regularization: float, *, dataset: str = "arrays",
                 standardization: str = "as given", intercept: bool = False,
                 dense_max_dim: int = DENSE_MAX_DIM) -> None:
        y = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise ValueError("invalid y: ridge targets must be finite real numbers")
        super().__init__(X, y, regularization, n_outputs=1, dataset=dataset,
                         standardization=standardization, intercept=intercept, dense_max_dim=dense_max_dim)
        gram_min, gram_max = self.gram_extreme_eigenvalues()
        if gram_min + self.regularization <= _MIN_INVERSE_CONDITION * (gram_max + self.regularization):
            raise ValueError(
                f"{self.name} is not strongly convex: XᵀX/n + λI is singular with λ={self.regularization:g}; "
                "set regularization > 0"
            )

    def _link_losses(self, Z, rows):
        return 0.5 * (Z[:, 0] - self._targets_for(rows)) ** 2

    def _link_gradients(self, Z, rows):
        return Z - self._targets_for(rows)[:, None]

    def _link_curvatures(self, Z, rows):
        return np.ones((Z.shape[0], 1, 1))

    def _targets_for(self, rows):
        return self.targets if rows is None else self.targets[rows]

    def _solve(self) -> np.ndarray:
        rhs = np.asarray(self.X.T @ self.targets).ravel() / self.n
        if self.dim <= self.dense_max_dim:
            system = _weighted_gram(self.X, np.ones(self.n)) / self.n
            system[np.diag_indices_from(system)] += self.regularization
        else:
            def product(v):
                return np.asarray(self.X.T @ (self.X @ v)).ravel() / self.n + self.regularization * v

            system = scipy.sparse.linalg.LinearOperator((self.dim, self.dim), matvec=product, dtype=np.float64)
        return solve_positive_definite(system, rhs, rtol=1e-13)

    def _global_constants(self):
        gram_min, gram_max = self.gram_extreme_eigenvalues()
        return (
            gram_min + self.regularization,
            gram_max + self.regularization,
            "exact: smallest eigenvalue of XᵀX/n + λI",
            "exact: largest eigenvalue of XᵀX/n + λI",
        )

    def _noise_bound_per_example(self):
        return None
