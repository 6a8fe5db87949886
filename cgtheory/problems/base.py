"""Regularized finite sums over a linear model, the shared part of every problem.

Each problem here has the form

    F(θ) = (1/n) Σ_i f_i(θ),    f_i(θ) = φ(x_iᵀΘ; y_i) + (λ/2)‖θ‖²,

where Θ is θ reshaped to (p, K) (K = 1 for ridge and binary logistic, K = the
number of classes for multinomial logistic), x_i is row i of X (n × p) and φ is
a convex link loss of the K margins z_i = x_iᵀΘ. The chain rule then gives

    ∇f_i(θ) = x_i ⊗ φ'(z_i) + λθ,    ∇²f_i(θ) = (x_i x_iᵀ) ⊗ φ''(z_i) + λI,

with ⊗ the Kronecker product in the row-major order of Θ, so a subclass only
supplies φ, φ' and φ''. X may be a dense array or a scipy.sparse matrix.
"""

from __future__ import annotations

import functools
import math
from abc import ABC, abstractmethod

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from cgtheory._validation import require_int_at_least, require_nonnegative
from cgtheory.problems.records import GradientNoise, ProblemRecord

# Largest dimension for which Hessians and Gram matrices are formed explicitly
# and decomposed with LAPACK (a dense 2000 × 2000 matrix takes 32 MB). Above
# it, Lanczos (scipy eigsh) and conjugate gradients run on matrix-vector products.
DENSE_MAX_DIM = 2000

# Relative accuracy asked of Lanczos eigenvalue estimates.
LANCZOS_TOL = 1e-10

# Number of entries per block when per-example gradients are formed in pieces.
_BLOCK_ENTRIES = 4_000_000


class GeneralizedLinearProblem(ABC):
    """Regularized finite sum F(θ) = (1/n) Σ_i φ(x_iᵀΘ; y_i) + (λ/2)‖θ‖², with its µ, L, θ* and σ².

    Args:
        X: features, shape (n, p), dense or scipy.sparse; stored as float64.
        targets: one target or class index per row, shape (n,).
        regularization: λ ≥ 0.
        n_outputs: K, the number of margins per example.
        dataset: the data set's name, used in ``name`` and the record.
        standardization: how X (and regression targets) were scaled.
        intercept: whether the last column of X is a column of ones.
        dense_max_dim: largest dimension for which Hessians and Gram matrices
            are formed explicitly. Larger ones use matrix-vector products only.
    """

    kind: str = ""

    def __init__(
        self,
        X,
        targets: np.ndarray,
        regularization: float,
        *,
        n_outputs: int = 1,
        dataset: str = "arrays",
        standardization: str = "as given",
        intercept: bool = False,
        dense_max_dim: int = DENSE_MAX_DIM,
    ) -> None:
        self.dense_max_dim = require_int_at_least("dense_max_dim", dense_max_dim, 1)
        self.X = _as_design_matrix(X)
        self.n, self.n_features = self.X.shape
        if self.n == 0 or self.n_features == 0:
            raise ValueError(f"invalid X with shape {self.X.shape}: need at least one row and one column")
        targets = np.asarray(targets)
        if targets.shape != (self.n,):
            raise ValueError(
                f"invalid targets with shape {targets.shape}: need one target per row of X, shape ({self.n},)"
            )
        self.targets = targets
        self.regularization = require_nonnegative("regularization", regularization)
        self.n_outputs = require_int_at_least("n_outputs", n_outputs, 1)
        self.dim = self.n_features * self.n_outputs
        self.dataset = dataset
        self.standardization = standardization
        self.intercept = intercept

    @property
    def name(self) -> str:
        """``"<kind>/<dataset>"``."""
        return f"{self.kind}/{self.dataset}"

    @property
    def n_classes(self) -> int | None:
        """Number of classes, or None for regression."""
        return None

    # Link loss φ and its derivatives, evaluated on margins Z of shape (m, K)
    # for the examples ``rows`` (an index array, or None for all n examples).

    @abstractmethod
    def _link_losses(self, Z: np.ndarray, rows) -> np.ndarray:
        """Return φ(z_i; y_i) for each row of Z, shape (m,)."""

    @abstractmethod
    def _link_gradients(self, Z: np.ndarray, rows) -> np.ndarray:
        """Return φ'(z_i; y_i), shape (m, K)."""

    @abstractmethod
    def _link_curvatures(self, Z: np.ndarray, rows) -> np.ndarray:
        """Return φ''(z_i; y_i), shape (m, K, K)."""

    @abstractmethod
    def _solve(self) -> np.ndarray:
        """Compute θ*."""

    @abstractmethod
    def _global_constants(self) -> tuple[float, float, str, str]:
        """Return (µ, L, how µ was obtained, how L was obtained)."""

    @abstractmethod
    def _noise_bound_per_example(self) -> float | None:
        """Return a bound on (1/n) Σ‖∇f_i(θ) − ∇F(θ)‖² over all θ, or None."""

    # Objective and derivatives.

    def loss(self, theta) -> float:
        """Return F(θ)."""
        theta = self._check_theta(theta)
        Z = self._margins(theta)
        return float(np.mean(self._link_losses(Z, None)) + 0.5 * self.regularization * theta @ theta)

    def gradient(self, theta) -> np.ndarray:
        """Return ∇F(θ), shape (d,)."""
        theta = self._check_theta(theta)
        R = self._link_gradients(self._margins(theta), None)
        return np.asarray(self.X.T @ R).ravel() / self.n + self.regularization * theta

    def per_example_gradients(self, theta) -> np.ndarray:
        """Return ∇f_i(θ) for every example as a dense array of shape (n, d).

        Each row includes the regularization gradient λθ, so the rows average to ∇F(θ).
        """
        theta = self._check_theta(theta)
        rows = np.arange(self.n)
        R = self._link_gradients(self._margins(theta), None)
        return self._loss_gradient_rows(rows, R) + self.regularization * theta

    def batch_gradient(self, theta, indices) -> np.ndarray:
        """Return (1/B) Σ_{i in indices} ∇f_i(θ), the gradient of one minibatch.

        ``indices`` may repeat an example, which then counts as often as it appears.
        """
        theta = self._check_theta(theta)
        indices = self._check_indices(indices)
        X_batch = self.X[indices]
        R = self._link_gradients(self._margins(theta, X_batch), indices)
        return np.asarray(X_batch.T @ R).ravel() / len(indices) + self.regularization * theta

    def sample_indices(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``batch_size`` example indices uniformly and independently, with replacement."""
        batch_size = require_int_at_least("batch_size", batch_size, 1)
        return rng.integers(0, self.n, size=batch_size)

    def minibatch_gradient(self, theta, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Return g_B(θ) for a minibatch drawn with :meth:`sample_indices`, so E[g_B(θ)] = ∇F(θ)."""
        return self.batch_gradient(theta, self.sample_indices(batch_size, rng))

    def hessian(self, theta) -> np.ndarray:
        """Return ∇²F(θ) as a dense (d, d) array; d must not exceed ``dense_max_dim``."""
        theta = self._check_theta(theta)
        if self.dim > self.dense_max_dim:
            raise ValueError(
                f"the Hessian of {self.name} has dimension {self.dim} > dense_max_dim={self.dense_max_dim}; "
                "use hessian_vector_product instead"
            )
        C = self._link_curvatures(self._margins(theta), None)
        p, K = self.n_features, self.n_outputs
        blocks = np.empty((p, K, p, K))
        for k in range(K):
            for m in range(K):
                blocks[:, k, :, m] = _weighted_gram(self.X, C[:, k, m]) / self.n
        H = blocks.reshape(self.dim, self.dim)
        H[np.diag_indices_from(H)] += self.regularization
        return H

    def hessian_vector_product(self, theta, vector) -> np.ndarray:
        """Return ∇²F(θ) v without forming the Hessian."""
        theta = self._check_theta(theta)
        vector = self._check_theta(vector, name="vector")
        Z = self._margins(theta)
        return self._hessian_operator(Z)(vector)

    # Constants at and around the optimum.

    @functools.cached_property
    def theta_star(self) -> np.ndarray:
        """The unique minimizer θ*, computed once."""
        return self._solve()

    @functools.cached_property
    def record(self) -> ProblemRecord:
        """The :class:`ProblemRecord` of this instance, computed once."""
        theta_star = self.theta_star
        mu, L, mu_source, L_source = self._global_constants()
        h_min, h_max, h_method = self.hessian_extreme_eigenvalues(theta_star)
        return ProblemRecord(
            name=self.name,
            kind=self.kind,
            dataset=self.dataset,
            n=self.n,
            d=self.dim,
            n_features=self.n_features,
            n_classes=self.n_classes,
            regularization=self.regularization,
            mu=mu,
            L=L,
            mu_source=mu_source,
            L_source=L_source,
            theta_star=theta_star.copy(),
            optimal_value=self.loss(theta_star),
            gradient_norm_at_optimum=float(np.linalg.norm(self.gradient(theta_star))),
            hessian_spectrum=(h_min, h_max),
            hessian_method=h_method,
            noise_per_example=self.noise_per_example(theta_star),
            noise_bound_per_example=self._noise_bound_per_example(),
            standardization=self.standardization,
            intercept=self.intercept,
        )

    def hessian_extreme_eigenvalues(self, theta) -> tuple[float, float, str]:
        """Return (min, max) eigenvalue of ∇²F(θ) and the method used.

        Up to ``dense_max_dim`` the Hessian is formed and decomposed with
        ``numpy.linalg.eigvalsh``; above it, Lanczos runs on Hessian-vector products.
        """
        theta = self._check_theta(theta)
        if self.dim <= self.dense_max_dim:
            eigenvalues = np.linalg.eigvalsh(self.hessian(theta))
            return float(eigenvalues[0]), float(eigenvalues[-1]), "dense eigvalsh of the exact Hessian"
        operator = self._hessian_operator(self._margins(theta))
        method = f"Lanczos (scipy eigsh, tol={LANCZOS_TOL:g}) on exact Hessian-vector products"
        if self._loss_hessian_is_singular():
            _, high = _lanczos_extremes(operator, self.dim, smallest=False)
            return self.regularization, high, method + "; min is exactly λ because the loss Hessian is singular"
        low, high = _lanczos_extremes(operator, self.dim)
        return low, high, method

    def noise_per_example(self, theta) -> float:
        """Return (1/n) Σ_i ‖∇f_i(θ) − ∇F(θ)‖², the exact σ² of one-example gradients at θ.

        The sum runs over row blocks, so the n × d per-example gradients are
        never held at once. The λθ terms cancel in each difference.
        """
        theta = self._check_theta(theta)
        R = self._link_gradients(self._margins(theta), None)
        mean_gradient = np.asarray(self.X.T @ R).ravel() / self.n
        block = max(1, _BLOCK_ENTRIES // self.dim)
        total = 0.0
        for start in range(0, self.n, block):
            rows = np.arange(start, min(start + block, self.n))
            deviations = self._loss_gradient_rows(rows, R[rows]) - mean_gradient
            total += float(np.sum(deviations * deviations))
        return total / self.n

    def sigma2(self, batch_size: int) -> GradientNoise:
        """Return the exact σ² = E‖g_B(θ*) − ∇F(θ*)‖² for minibatches of ``batch_size``."""
        return self.record.sigma2(batch_size)

    def estimate_sigma2(
        self,
        batch_size: int,
        num_batches: int,
        rng: np.random.Generator,
        theta=None,
    ) -> GradientNoise:
        """Estimate E‖g_B(θ) − ∇F(θ)‖² by Monte Carlo over ``num_batches`` minibatches.

        θ defaults to θ*. The standard error is the sample standard deviation
        of the squared deviations divided by √num_batches.
        """
        batch_size = require_int_at_least("batch_size", batch_size, 1)
        num_batches = require_int_at_least("num_batches", num_batches, 2)
        theta = self.theta_star if theta is None else self._check_theta(theta)
        full_gradient = self.gradient(theta)
        squared = np.empty(num_batches)
        for b in range(num_batches):
            deviation = self.minibatch_gradient(theta, batch_size, rng) - full_gradient
            squared[b] = deviation @ deviation
        return GradientNoise(
            batch_size=batch_size,
            sigma2=float(squared.mean()),
            stderr=float(squared.std(ddof=1) / math.sqrt(num_batches)),
            method=f"Monte Carlo over {num_batches} minibatches",
        )

    def gram_extreme_eigenvalues(self) -> tuple[float, float]:
        """Return (min, max) eigenvalue of XᵀX/n, computed once per instance."""
        return self._gram_extremes

    @functools.cached_property
    def _gram_extremes(self) -> tuple[float, float]:
        p = self.n_features
        if p <= self.dense_max_dim:
            eigenvalues = np.linalg.eigvalsh(_weighted_gram(self.X, np.ones(self.n)) / self.n)
            return max(float(eigenvalues[0]), 0.0), float(eigenvalues[-1])

        def gram_product(v):
            return np.asarray(self.X.T @ (self.X @ v)).ravel() / self.n

        operator = scipy.sparse.linalg.LinearOperator((p, p), matvec=gram_product, dtype=np.float64)
        low, high = _lanczos_extremes(operator, p, smallest=not self._gram_is_singular())
        return max(low, 0.0), high

    def _gram_is_singular(self) -> bool:
        """Report whether XᵀX is singular for a structural reason: p > n, or an all-zero column."""
        if self.n_features > self.n:
            return True
        if scipy.sparse.issparse(self.X):
            return bool(np.any(abs(self.X).max(axis=0).toarray() == 0))
        return bool(np.any(np.all(self.X == 0, axis=0)))

    def _loss_hessian_is_singular(self) -> bool:
        """Report whether ∇²F(θ) − λI is singular at every θ, which makes λ the smallest eigenvalue.

        With K = 1 it is Xᵀ diag(φ'') X / n, singular whenever XᵀX is.
        """
        return self._gram_is_singular()

    # Helpers.

    def _margins(self, theta: np.ndarray, X=None) -> np.ndarray:
        X = self.X if X is None else X
        return np.asarray(X @ theta.reshape(self.n_features, self.n_outputs))

    def _loss_gradient_rows(self, rows: np.ndarray, R: np.ndarray) -> np.ndarray:
        """Return x_i ⊗ φ'(z_i) for ``rows`` as a dense (len(rows), d) array."""
        X_rows = self.X[rows]
        if scipy.sparse.issparse(X_rows):
            X_rows = X_rows.toarray()
        return (X_rows[:, :, None] * R[:, None, :]).reshape(len(rows), self.dim)

    def _hessian_operator(self, Z: np.ndarray):
        C = self._link_curvatures(Z, None)
        p, K = self.n_features, self.n_outputs

        def product(vector):
            V = np.asarray(vector, dtype=np.float64).reshape(p, K)
            XV = np.asarray(self.X @ V)
            CXV = np.einsum("ikm,im->ik", C, XV)
            return np.asarray(self.X.T @ CXV).ravel() / self.n + self.regularization * V.ravel()

        return scipy.sparse.linalg.LinearOperator((self.dim, self.dim), matvec=product, dtype=np.float64)

    def _check_theta(self, theta, *, name: str = "theta") -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.dim,):
            raise ValueError(f"invalid {name} with shape {theta.shape}: {self.name} needs shape ({self.dim},)")
        return theta

    def _check_indices(self, indices) -> np.ndarray:
        indices = np.asarray(indices)
        if indices.ndim != 1 or indices.size == 0 or not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(f"invalid indices with shape {indices.shape}: need a non-empty 1-D integer array")
        if indices.min() < 0 or indices.max() >= self.n:
            raise ValueError(f"invalid indices: every index must lie in [0, {self.n}) for {self.name}")
        return indices


def _as_design_matrix(X):
    if scipy.sparse.issparse(X):
        X = scipy.sparse.csr_matrix(X, dtype=np.float64)
        values = X.data
    else:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"invalid X with shape {X.shape}: X must be 2-D (examples × features)")
        values = X
    if not np.all(np.isfinite(values)):
        raise ValueError("invalid X: it contains NaN or infinite entries")
    return X


def _weighted_gram(X, weights: np.ndarray) -> np.ndarray:
    """Return Xᵀ diag(weights) X as a dense array."""
    if scipy.sparse.issparse(X):
        return np.asarray((X.T @ X.multiply(weights[:, None]).tocsr()).toarray())
    return X.T @ (X * weights[:, None])


def _lanczos_extremes(operator, dim: int, *, smallest: bool = True) -> tuple[float, float]:
    """Return the smallest (0.0 unless ``smallest``) and largest eigenvalue of a PSD operator.

    The smallest comes from the largest eigenvalue of high·I − A, so its
    absolute error is about LANCZOS_TOL·high rather than relative to itself,
    which keeps Lanczos fast when small eigenvalues cluster.
    """
    # NOTE: a Lanczos estimate of the largest eigenvalue can only fall short of
    # it, so L derived from it is valid to within LANCZOS_TOL relative error.
    max_iterations = max(20 * dim, 1000)
    high = float(scipy.sparse.linalg.eigsh(operator, k=1, which="LA", tol=LANCZOS_TOL, maxiter=max_iterations,
                                           return_eigenvectors=False)[0])
    if not smallest:
        return 0.0, high

    def shifted_product(v):
        return high * v - operator.matvec(v)

    shifted = scipy.sparse.linalg.LinearOperator((dim, dim), matvec=shifted_product, dtype=np.float64)
    top_of_shifted = scipy.sparse.linalg.eigsh(shifted, k=1, which="LA", tol=LANCZOS_TOL, maxiter=max_iterations,
                                               return_eigenvectors=False)[0]
    return high - float(top_of_shifted), high


def solve_positive_definite(operator_or_matrix, rhs: np.ndarray, *, rtol: float) -> np.ndarray:
    """Solve A x = rhs for a symmetric positive definite A, dense or as a LinearOperator.

    A dense A goes to LAPACK (Cholesky); an operator goes to conjugate gradients.
    """
    if isinstance(operator_or_matrix, np.ndarray):
        return scipy.linalg.solve(operator_or_matrix, rhs, assume_a="pos")
    solution, info = scipy.sparse.linalg.cg(operator_or_matrix, rhs, rtol=rtol, atol=0.0,
                                            maxiter=10 * len(rhs))
    if info != 0:
        raise RuntimeError(f"conjugate gradients did not reach rtol={rtol:g} within {10 * len(rhs)} iterations")
    return solution
