"""ℓ2-regularized logistic regression, binary and multinomial, with valid µ and L.

Both models use µ = λ, which holds for every θ because the loss part of the
Hessian is positive semidefinite, and an L from a bound on the link curvature.
θ* comes from a damped Newton method run until ‖∇F(θ*)‖ ≤ 1e-10.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import scipy.special

from cgtheory._validation import require_int_at_least, require_positive
from cgtheory.problems.base import DENSE_MAX_DIM, GeneralizedLinearProblem, solve_positive_definite

logger = logging.getLogger(__name__)

NEWTON_TOL = 1e-10
NEWTON_MAX_ITERATIONS = 100

# Armijo sufficient-decrease fraction for the Newton line search.
_ARMIJO = 1e-4


class NewtonConvergenceError(RuntimeError):
    """Raised when Newton's method does not reach the requested gradient norm."""


class _LogisticProblem(GeneralizedLinearProblem):
    """Shared constructor checks and θ* solver of the two logistic models."""

    def __init__(self, X, regularization: float, *, n_outputs: int, classes: np.ndarray,
                 targets: np.ndarray, dataset: str, standardization: str, intercept: bool,
                 newton_tol: float, newton_max_iterations: int, dense_max_dim: int) -> None:
        regularization = require_positive("regularization", regularization)
        super().__init__(X, targets, regularization, n_outputs=n_outputs, dataset=dataset,
                         standardization=standardization, intercept=intercept, dense_max_dim=dense_max_dim)
        self.classes = classes
        self.newton_tol = require_positive("newton_tol", newton_tol)
        self.newton_max_iterations = require_int_at_least("newton_max_iterations", newton_max_iterations, 1)

    def _solve(self) -> np.ndarray:
        return newton_minimize(self, tol=self.newton_tol, max_iterations=self.newton_max_iterations)


class BinaryLogisticProblem(_LogisticProblem):
    """Binary logistic regression F(θ) = (1/n) Σ log(1 + exp(−s_i x_iᵀθ)) + (λ/2)‖θ‖².

    Labels may be any two distinct values ({0, 1}, {−1, +1}, {2, 7}, ...). The
    larger one becomes s = +1 and the other s = −1, the convention of
    scikit-learn's ``classes_[1]``, so ``LogisticRegression(C=1/(n·λ),
    fit_intercept=False)`` minimizes n·F and has the same θ*.

    Constants: the Hessian is (1/n) Xᵀ diag(σ(z_i)(1 − σ(z_i))) X + λI and
    σ(1 − σ) ≤ 1/4, so L = λ_max(XᵀX)/(4n) + λ and µ = λ hold for all θ.

    Args:
        X: features, shape (n, d), dense or scipy.sparse.
        labels: class labels, shape (n,), exactly two distinct values.
        regularization: λ > 0.
        newton_tol: gradient norm at which Newton's method stops.
        newton_max_iterations: iterations after which NewtonConvergenceError is raised.
        dense_max_dim: largest dimension of θ for which the Hessian is formed
            explicitly; above it, Newton uses conjugate gradients and the
            spectrum comes from Lanczos.
    """

    kind = "binary_logistic"

    def __init__(self, X, labels, regularization: float, *, dataset: str = "arrays",
                 standardization: str = "as given", intercept: bool = False,
                 newton_tol: float = NEWTON_TOL, newton_max_iterations: int = NEWTON_MAX_ITERATIONS,
                 dense_max_dim: int = DENSE_MAX_DIM) -> None:
        classes, codes = _encode_labels(labels)
        if len(classes) != 2:
            raise ValueError(
                f"invalid labels: binary logistic regression needs exactly 2 classes, found {len(classes)}; "
                "use MultinomialLogisticProblem for more"
            )
        signs = np.where(codes == 1, 1.0, -1.0)
        super().__init__(X, regularization, n_outputs=1, classes=classes, targets=signs,
                         dataset=dataset, standardization=standardization, intercept=intercept,
                         newton_tol=newton_tol, newton_max_iterations=newton_max_iterations,
                         dense_max_dim=dense_max_dim)

    @property
    def n_classes(self) -> int:
        return 2

    def _link_losses(self, Z, rows):
        return np.logaddexp(0.0, -self._signs(rows) * Z[:, 0])

    def _link_gradients(self, Z, rows):
        signs = self._signs(rows)
        return (-signs * scipy.special.expit(-signs * Z[:, 0]))[:, None]

    def _link_curvatures(self, Z, rows):
        return (scipy.special.expit(Z[:, 0]) * scipy.special.expit(-Z[:, 0]))[:, None, None]

    def _signs(self, rows):
        return self.targets if rows is None else self.targets[rows]

    def _global_constants(self):
        _, gram_max = self.gram_extreme_eigenvalues()
        return (
            self.regularization,
            gram_max / 4.0 + self.regularization,
            "bound: λ (the loss Hessian is positive semidefinite)",
            "bound: λ_max(XᵀX)/(4n) + λ, because σ(z)(1 − σ(z)) ≤ 1/4",
        )

    def _noise_bound_per_example(self):
        # |φ'(z)| = σ(−s z) ≤ 1, so ‖∇ℓ_i‖² ≤ ‖x_i‖², and a variance is at most
        # the mean square.
        return _mean_squared_row_norm(self.X)


class MultinomialLogisticProblem(_LogisticProblem):
    """Softmax regression F(θ) = (1/n) Σ [logsumexp(Θᵀx_i) − (Θᵀx_i)_{c_i}] + (λ/2)‖Θ‖²_F.

    Θ has shape (d_features, K) with one column per class, and θ is its
    row-major flattening, so θ[j·K + k] = Θ[j, k]. The classes are the sorted
    distinct labels. Without regularization, adding the same vector to every
    column of Θ leaves the loss unchanged, a null direction of the Hessian;
    λ > 0 removes it and makes F λ-strongly convex. With λ > 0 the minimizer
    is unique and equals scikit-learn's ``LogisticRegression(C=1/(n·λ),
    fit_intercept=False).coef_.T``, which uses the same K-column model.

    Constants: the Hessian is (1/n) Σ (x_i x_iᵀ) ⊗ (diag(p_i) − p_i p_iᵀ) + λI
    with p_i the softmax probabilities. For a unit vector v, vᵀ(diag(p) − ppᵀ)v
    is the variance of v_k under k ~ p, at most (max v − min v)²/4 ≤ 1/2
    (Popoviciu's inequality with max v − min v ≤ √2). So every block satisfies
    (x xᵀ) ⊗ (diag(p) − ppᵀ) ⪯ (x xᵀ) ⊗ I/2, and L = λ_max(XᵀX)/(2n) + λ
    holds for all θ, with µ = λ.

    Args:
        X: features, shape (n, d_features), dense or scipy.sparse.
        labels: class labels, shape (n,), at least two distinct values.
        regularization: λ > 0.
        newton_tol: gradient norm at which Newton's method stops.
        newton_max_iterations: iterations after which NewtonConvergenceError is raised.
        dense_max_dim: largest dimension of θ for which the Hessian is formed
            explicitly; above it, Newton uses conjugate gradients and the
            spectrum comes from Lanczos.
    """

    kind = "multinomial_logistic"

    def __init__(self, X, labels, regularization: float, *, dataset: str = "arrays",
                 standardization: str = "as given", intercept: bool = False,
                 newton_tol: float = NEWTON_TOL, newton_max_iterations: int = NEWTON_MAX_ITERATIONS,
                 dense_max_dim: int = DENSE_MAX_DIM) -> None:
        classes, codes = _encode_labels(labels)
        if len(classes) < 2:
            raise ValueError(f"invalid labels: logistic regression needs at least 2 classes, found {len(classes)}")
        super().__init__(X, regularization, n_outputs=len(classes), classes=classes, targets=codes,
                         dataset=dataset, standardization=standardization, intercept=intercept,
                         newton_tol=newton_tol, newton_max_iterations=newton_max_iterations,
                         dense_max_dim=dense_max_dim)

    @property
    def n_classes(self) -> int:
        return self.n_outputs

    def _link_losses(self, Z, rows):
        codes = self._codes(rows)
        return scipy.special.logsumexp(Z, axis=1) - Z[np.arange(len(codes)), codes]

    def _link_gradients(self, Z, rows):
        codes = self._codes(rows)
        R = scipy.special.softmax(Z, axis=1)
        R[np.arange(len(codes)), codes] -= 1.0
        return R

    def _link_curvatures(self, Z, rows):
        P = scipy.special.softmax(Z, axis=1)
        C = -P[:, :, None] * P[:, None, :]
        C[:, np.arange(self.n_outputs), np.arange(self.n_outputs)] += P
        return C

    def _codes(self, rows):
        return self.targets if rows is None else self.targets[rows]

    def _loss_hessian_is_singular(self) -> bool:
        # (diag(p) − ppᵀ) 1 = p − p = 0, so every v ⊗ 1 (the same vector added
        # to each column of Θ) is in the null space of the loss Hessian.
        return True

    def _global_constants(self):
        _, gram_max = self.gram_extreme_eigenvalues()
        return (
            self.regularization,
            gram_max / 2.0 + self.regularization,
            "bound: λ (the loss Hessian is positive semidefinite)",
            "bound: λ_max(XᵀX)/(2n) + λ, because λ_max(diag(p) − ppᵀ) ≤ 1/2",
        )

    def _noise_bound_per_example(self):
        # ‖p − e_c‖² = (1 − p_c)² + Σ_{k≠c} p_k² ≤ 2(1 − p_c)² ≤ 2.
        return 2.0 * _mean_squared_row_norm(self.X)


def newton_minimize(problem: GeneralizedLinearProblem, *, tol: float = NEWTON_TOL,
                    max_iterations: int = NEWTON_MAX_ITERATIONS) -> np.ndarray:
    """Minimize a strongly convex problem by damped Newton steps, from θ = 0.

    Newton directions come from a Cholesky solve up to ``problem.dense_max_dim`` and from
    conjugate gradients on Hessian-vector products above it. A backtracking
    line search enforces the Armijo condition. Near the optimum, where the
    predicted decrease is below the rounding error of F, a step is accepted
    when it lowers ‖∇F‖ instead.

    Raises:
        NewtonConvergenceError: if ‖∇F(θ)‖ > tol after ``max_iterations`` steps,
            or if the line search cannot make progress.
    """
    theta = np.zeros(problem.dim)
    value = problem.loss(theta)
    gradient = problem.gradient(theta)
    gradient_norm = float(np.linalg.norm(gradient))

    for iteration in range(max_iterations):
        if gradient_norm <= tol:
            logger.debug("Newton converged on %s after %d steps, |grad F| = %.3g", problem.name, iteration,
                         gradient_norm)
            return theta

        if problem.dim <= problem.dense_max_dim:
            system = problem.hessian(theta)
        else:
            system = problem._hessian_operator(problem._margins(theta))
        # Inexact Newton: a CG residual of min(0.1, √‖∇F‖) relative keeps the
        # local convergence superlinear.
        direction = solve_positive_definite(system, gradient, rtol=min(0.1, math.sqrt(gradient_norm)))
        predicted_decrease = float(gradient @ direction)

        step = 1.0
        while True:
            candidate = theta - step * direction
            candidate_value = problem.loss(candidate)
            if candidate_value <= value - _ARMIJO * step * predicted_decrease:
                candidate_gradient = problem.gradient(candidate)
                break
            if step * predicted_decrease <= 1e-12 * max(1.0, abs(value)):
                candidate_gradient = problem.gradient(candidate)
                if np.linalg.norm(candidate_gradient) < gradient_norm:
                    break
            step *= 0.5
            if step < 1e-12:
                raise NewtonConvergenceError(
                    f"Newton's line search on {problem.name} stalled at |grad F| = {gradient_norm:.3g} "
                    f"(target {tol:g}); the gradient may be too inaccurate for this tolerance"
                )

        theta, value, gradient = candidate, candidate_value, candidate_gradient
        gradient_norm = float(np.linalg.norm(gradient))

    if gradient_norm <= tol:
        return theta
    raise NewtonConvergenceError(
        f"Newton's method on {problem.name} did not reach |grad F| <= {tol:g} within {max_iterations} "
        f"iterations (last |grad F| = {gradient_norm:.3g}); raise newton_max_iterations or the regularization"
    )


def _encode_labels(labels) -> tuple[np.ndarray, np.ndarray]:
    """Return (sorted distinct labels, index of each label among them)."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"invalid labels with shape {labels.shape}: need a 1-D array of class labels")
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)):
            raise ValueError("invalid labels: they contain NaN or infinite values")
        if not np.all(labels == np.round(labels)):
            example = labels[labels != np.round(labels)][0]
            raise ValueError(
                f"invalid label {example!r}: logistic regression needs class labels (integer values), "
                "not real-valued regression targets; use kind 'ridge' for those"
            )
    classes, codes = np.unique(labels, return_inverse=True)
    return classes, codes.astype(np.int64)


def _mean_squared_row_norm(X) -> float:
    if hasattr(X, "multiply"):
        return float(X.multiply(X).sum() / X.shape[0])
    return float(np.einsum("ij,ij->", X, X) / X.shape[0])
