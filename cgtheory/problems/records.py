"""Records of a test problem's constants and of its gradient noise.

A :class:`ProblemRecord` stores every number that Theorem 1 needs from a
problem (µ, L, θ*, the Hessian spectrum at θ*, the noise variance σ²) without
the data, so it can be stored, compared and written to JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cgtheory._validation import require_int_at_least


@dataclass(frozen=True)
class GradientNoise:
    """Variance σ² = E‖g_B(θ) − ∇F(θ)‖² of a minibatch gradient of size B.

    Attributes:
        batch_size: B, the number of examples drawn uniformly with replacement.
        sigma2: the variance, exact or estimated, as ``method`` states.
        stderr: standard error of ``sigma2``; 0.0 when the value is exact.
        method: how ``sigma2`` was obtained.
    """

    batch_size: int
    sigma2: float
    stderr: float
    method: str

    def describe(self) -> dict:
        """Return the fields as a JSON-ready dict."""
        return {
            "batch_size": self.batch_size,
            "sigma2": self.sigma2,
            "stderr": self.stderr,
            "method": self.method,
        }


@dataclass(frozen=True)
class ProblemRecord:
    """Constants of one instance of F(θ) = (1/n) Σ_i f_i(θ).

    Attributes:
        name: ``"<kind>/<dataset>"``, for example ``"ridge/diabetes"``.
        kind: ``"ridge"``, ``"binary_logistic"`` or ``"multinomial_logistic"``.
        dataset: the data set's name, or the LIBSVM file's path.
        n: number of examples.
        d: dimension of θ (features × classes for the multinomial model).
        n_features: columns of X, the intercept column included.
        n_classes: number of classes, or None for ridge.
        regularization: λ in the (λ/2)‖θ‖² term.
        mu: a strong convexity constant that holds for all θ.
        L: a smoothness constant that holds for all θ.
        mu_source: whether ``mu`` is exact or a bound, and its formula.
        L_source: whether ``L`` is exact or a bound, and its formula.
        theta_star: the minimizer θ*, shape (d,); multinomial θ is the
            row-major flattening of a (n_features, n_classes) matrix.
        optimal_value: F(θ*).
        gradient_norm_at_optimum: ‖∇F(θ*)‖ as computed, a check of θ*.
        hessian_spectrum: (min, max) eigenvalue of ∇²F(θ*).
        hessian_method: how the spectrum was computed.
        noise_per_example: (1/n) Σ_i ‖∇f_i(θ*) − ∇F(θ*)‖², which is σ² for B = 1.
        noise_bound_per_example: an upper bound on the same sum over all θ,
            or None where none exists (ridge, whose noise grows with ‖θ − θ*‖).
        standardization: how the features (and regression targets) were scaled.
        intercept: whether X ends with a column of ones, regularized like the rest.
        sampling: how minibatches are drawn.
    """

    name: str
    kind: str
    dataset: str
    n: int
    d: int
    n_features: int
    n_classes: int | None
    regularization: float
    mu: float
    L: float
    mu_source: str
    L_source: str
    theta_star: np.ndarray = field(repr=False)
    optimal_value: float
    gradient_norm_at_optimum: float
    hessian_spectrum: tuple[float, float]
    hessian_method: str
    noise_per_example: float
    noise_bound_per_example: float | None
    standardization: str
    intercept: bool
    sampling: str = "uniform with replacement"

    @property
    def condition_number(self) -> float:
        """κ = L / µ for the global constants."""
        return self.L / self.mu

    def sigma2(self, batch_size: int) -> GradientNoise:
        """Return the exact σ² at θ* for minibatches of ``batch_size``.

        With B indices drawn independently and uniformly, g_B is the mean of B
        independent copies of ∇f_i(θ*), so its variance is the per-example
        variance divided by B.
        """
        batch_size = require_int_at_least("batch_size", batch_size, 1)
        return GradientNoise(
            batch_size=batch_size,
            sigma2=self.noise_per_example / batch_size,
            stderr=0.0,
            method="exact finite-sum formula at theta*: (1/B)(1/n) sum_i ||grad f_i - grad F||^2",
        )

    def sigma2_bound(self, batch_size: int) -> float | None:
        """Return a bound on E‖g_B(θ) − ∇F(θ)‖² over all θ, or None if unbounded.

        This is the uniform σ² that Theorem 1 assumes. Ridge has none, because
        its per-example gradients grow linearly in ‖θ − θ*‖.
        """
        batch_size = require_int_at_least("batch_size", batch_size, 1)
        if self.noise_bound_per_example is None:
            return None
        return self.noise_bound_per_example / batch_size

    def describe(self, batch_sizes: tuple[int, ...] = (1,)) -> dict:
        """Return the record as a JSON-ready dict, with σ² for ``batch_sizes``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "dataset": self.dataset,
            "n": self.n,
            "d": self.d,
            "n_features": self.n_features,
            "n_classes": self.n_classes,
            "regularization": self.regularization,
            "mu": self.mu,
            "L": self.L,
            "condition_number": self.condition_number,
            "mu_source": self.mu_source,
            "L_source": self.L_source,
            "theta_star": [float(value) for value in self.theta_star],
            "optimal_value": self.optimal_value,
            "gradient_norm_at_optimum": self.gradient_norm_at_optimum,
            "hessian_spectrum": {"min": self.hessian_spectrum[0], "max": self.hessian_spectrum[1]},
            "hessian_method": self.hessian_method,
            "sigma2": [self.sigma2(batch_size).describe() for batch_size in batch_sizes],
            "sigma2_bound": {str(batch_size): self.sigma2_bound(batch_size) for batch_size in batch_sizes},
            "standardization": self.standardization,
            "intercept": self.intercept,
            "sampling": self.sampling,
        }
