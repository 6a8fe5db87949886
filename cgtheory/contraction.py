r"""Theorem 1's contraction factor q(α, K), exactly and by a generic sup-search.

Theorem 1 defines

    q(α, K) = sup over w_k ∈ [0, 1], η_k ∈ [µ, L] of σ_max(Λ),

the largest singular value of Λ (see :mod:`cgtheory.companion`). Any other
rate of the same algorithm (a spectral radius, a certified IQC rate) has its
own name elsewhere in cgtheory, so ``q`` always means this supremum.

Why the closed form is exact
----------------------------
In both forms ΛΛᵀ = [[s, vᵀ], [v, I_{K-1}]] with s = ‖λ‖², where v is
(λ_0, ..., λ_{K-2}) in the companion form and (λ_1, ..., λ_{K-1}) in the
printed form. Vectors (0, u) with u ⊥ v are eigenvectors with eigenvalue 1
(K-2 of them), and on the span of (1, 0) and (0, v) the matrix acts as
[[s, ‖v‖], [‖v‖, 1]]. With a = ‖v‖² and c = s - a (c = λ_{K-1}² for the
companion form, λ_0² for the printed form), for K >= 2

    σ_max(Λ)² = g(a, c) = (a + c + 1 + √((a + c + 1)² - 4c)) / 2.

g increases in a, and does not decrease in c: ∂g/∂c = (1 + (a+c-1)/√D)/2 with
D - (a+c-1)² = 4a >= 0. So σ_max grows with every |λ_k| separately, and the
supremum takes each |λ_k| at its own maximum over the box:

    |λ_0| <= m_0 = max(|1 - αµ|, |1 - αL|)   (η_0 = µ or L),
    |λ_k| <= αL                               (w_k = 1, η_k = L).

The supremum is therefore attained, at that corner of the box, and for K = 1
it is q = m_0. :func:`cgtheory.symbolic.prove_q_at_least_one` proves with sympy
that g >= 1, so q(α, K) >= 1 for every α > 0 when K >= 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.stats import qmc

from cgtheory._validation import (
    require_choice,
    require_curvature_bounds,
    require_int_at_least,
    require_positive,
)
from cgtheory.companion import FORMS, lambda_matrix


@dataclass(frozen=True)
class ContractionFactor:
    """Theorem 1's q(α, K) with the weights and curvatures that attain it.

    Attributes:
        q: the largest singular value of Λ at the maximizer.
        alpha, K, mu, L: the problem it was computed for.
        form: ``"companion"`` or ``"printed"``.
        weights: w_1, ..., w_{K-1} of the maximizer (empty for K = 1).
        curvatures: η_0, ..., η_{K-1} of the maximizer.
        method: ``"exact"`` or the name of the numerical search.
    """

    q: float
    alpha: float
    K: int
    mu: float
    L: float
    form: str
    weights: np.ndarray
    curvatures: np.ndarray
    method: str

    def maximizer(self) -> dict[str, list[float]]:
        """Return the maximizer as plain lists, for JSON output."""
        return {"weights": self.weights.tolist(), "curvatures": self.curvatures.tolist()}


def _validate(alpha, K, mu, L, form) -> tuple[float, int, float, float, str]:
    alpha = require_positive("alpha", alpha)
    K = require_int_at_least("K", K, 1)
    mu, L = require_curvature_bounds(mu, L)
    form = require_choice("form", form, FORMS)
    return alpha, K, mu, L, form


def largest_singular_value_squared(a: float, c: float) -> float:
    """Return g(a, c), the largest eigenvalue of ΛΛᵀ for K >= 2 (module docstring)."""
    total = a + c + 1.0
    # Both terms are >= 0, so no cancellation occurs; the max() guards rounding.
    return 0.5 * (total + math.sqrt(max(total * total - 4.0 * c, 0.0)))


def contraction_factor(alpha: float, K: int, mu: float, L: float, form: str = "companion") -> ContractionFactor:
    """Compute q(α, K) exactly in O(1) time, with the maximizing weights and curvatures.

    Args:
        alpha: step size α > 0.
        K: staleness bound K >= 1 (the memory spans the last K gradients).
        mu, L: curvature bounds 0 < µ <= L.
        form: ``"companion"`` (the recursion's matrix) or ``"printed"``
            (Λ exactly as Theorem 1 prints it).

    Returns:
        A :class:`ContractionFactor` with ``method="exact"``.

    Raises:
        ValueError: on invalid input, naming the value and the rule.

    Example:
        >>> round(contraction_factor(0.1, 1, 1.0, 10.0).q, 12)
        0.9
    """
    alpha, K, mu, L, form = _validate(alpha, K, mu, L, form)

    eta_0 = mu if abs(1.0 - alpha * mu) >= abs(1.0 - alpha * L) else L
    m_0 = abs(1.0 - alpha * eta_0)
    weights = np.ones(K - 1)
    curvatures = np.full(K, L)
    curvatures[0] = eta_0

    if K == 1:
        q = m_0
    else:
        memory = (alpha * L) ** 2
        if form == "companion":
            a, c = m_0**2 + (K - 2) * memory, memory
        else:
            a, c = (K - 1) * memory, m_0**2
        q = math.sqrt(largest_singular_value_squared(a, c))

    return ContractionFactor(q, alpha, K, mu, L, form, weights, curvatures, "exact")


def contraction_factor_search(
    alpha: float,
    K: int,
    mu: float,
    L: float,
    form: str = "companion",
    *,
    seed: int = 0,
    maxiter: int = 300,
    starts_log2: int = 9,
) -> ContractionFactor:
    """Estimate q(α, K) by a global search that uses nothing of Λ's structure.

    Maximizes σ_max(Λ(w, η)) over the box [0, 1]^{K-1} × [µ, L]^K with
    :func:`scipy.optimize.differential_evolution` followed by an L-BFGS-B
    polish, and with L-BFGS-B from the 8 best of 2**starts_log2 Sobol points.
    Every value it returns is σ_max at a point of the box, so it can never
    exceed the true supremum: a result above :func:`contraction_factor` would
    prove the closed form wrong. Meant for small K (the cost grows with
    the 2K-1 search dimensions).
    """
    alpha, K, mu, L, form = _validate(alpha, K, mu, L, form)
    bounds = [(0.0, 1.0)] * (K - 1) + [(mu, L)] * K

    def negative_sigma_max(x: np.ndarray) -> float:
        matrix = lambda_matrix(alpha, x[: K - 1], x[K - 1 :], form)
        return -np.linalg.norm(matrix, 2)

    lower = np.array([b[0] for b in bounds])
    upper = np.array([b[1] for b in bounds])
    result = optimize.differential_evolution(
        negative_sigma_max, bounds, seed=seed, maxiter=maxiter, tol=1e-10, polish=True
    )
    candidates = [np.clip(result.x, lower, upper)]

    # Two far-apart local maxima of nearly equal height can trap the evolution in
    # the lower one, so also polish the best few points of a Sobol sample.
    sample = lower + qmc.Sobol(len(bounds), seed=seed).random(2**starts_log2) * (upper - lower)
    values = np.array([negative_sigma_max(x) for x in sample])
    for start in sample[np.argsort(values)[:8]]:
        polished = optimize.minimize(negative_sigma_max, start, method="L-BFGS-B", bounds=bounds)
        candidates.append(np.clip(polished.x, lower, upper))

    x = min(candidates, key=negative_sigma_max)
    q = -negative_sigma_max(x)
    return ContractionFactor(
        q, alpha, K, mu, L, form, x[: K - 1].copy(), x[K - 1 :].copy(), "differential_evolution"
    )
