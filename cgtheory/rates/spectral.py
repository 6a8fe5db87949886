r"""The exact worst-case rate of a fixed-weight method over quadratics.

On f(θ) = ½ (θ − θ*)ᵀ H (θ − θ*) with the eigenvalues of H in [µ, L], a
method (A, B, C, 0) decouples along the eigenvectors of H into the scalar
closed loops ξ_{t+1} = M(η) ξ_t with M(η) = A + η B C, one per eigenvalue η.
Its worst-case rate is therefore

    ρ* = sup_{η ∈ [µ, L]} ρ(M(η)).

Why the search cannot miss a peak
---------------------------------
B C has rank one, so the characteristic polynomial of M(η) is affine in η:

    p(z, η) = det(zI − A − η B C) = a(z) − η b(z),

with a = det(zI − A) and b = a − det(zI − A − BC). ρ(M(η)) is continuous in η,
so for any r > 0 the supremum is >= r exactly when ρ(M(µ)) >= r, or
ρ(M(L)) >= r, or some root crosses the circle |z| = r for an η inside
(µ, L). A root z = r e^{iθ} of p(·, η) with b(z) ≠ 0 means η = a(z)/b(z) is
real, i.e. Im(a(z) conj(b(z))) = 0. On |z| = r that imaginary part is the
sine polynomial Σ_{m=1}^{n} c_m sin(mθ) = sin θ · Σ_m c_m U_{m-1}(cos θ),
whose zeros are θ = 0, π and the arccosines of the real roots in [−1, 1] of a
Chebyshev series of degree n − 1 (found by ``chebroots``, which is
well conditioned on [−1, 1]). Each zero gives a candidate η = a(z)/b(z); the
crossing exists when one of them lies in [µ, L].

A bisection on r with this test brackets ρ*: r goes down when no root
crosses |z| = r, and up to the largest ρ(M(η)) evaluated at the crossings
found. A peak of any width is found, because its presence shows up as a
root crossing at every level below its height, not as a grid value. Only a
level within root-finding accuracy (about 1e-8 relative) of a local
maximum can be misread, which bounds the error of the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev

from cgtheory._validation import require_curvature_bounds, require_positive
from cgtheory.rates.systems import LinearSystem

# A candidate root of the Chebyshev series counts as real when its imaginary
# part is below this (relative to 1, the size of the interval [-1, 1]).
_REAL_ROOT_TOLERANCE = 1e-7


@dataclass(frozen=True)
class SpectralRate:
    """The worst-case spectral radius over quadratics with curvature in [µ, L].

    Attributes:
        rate: an upper bound on sup_η ρ(M(η)): no root crosses |z| = rate
            for η ∈ [µ, L] and the endpoints are below it.
        lower: ρ(M(worst_eta)), attained, so sup_η ρ(M(η)) ∈ [lower, rate].
        worst_eta: the curvature η where ``lower`` is attained.
        certified: True when the bracket closed to ``tolerance``.
        method: ``"root-crossing bisection"``.
        iterations: the number of bisection steps.
        tolerance: the bracket width asked for.
        mu, L: the curvature interval.
    """

    rate: float
    lower: float
    worst_eta: float
    certified: bool
    method: str
    iterations: int
    tolerance: float
    mu: float
    L: float


def characteristic_polynomials(system: LinearSystem) -> tuple[np.ndarray, np.ndarray]:
    """Return (a, b), coefficients in ascending powers, with det(zI − M(η)) = a(z) − η b(z)."""
    system.require_strictly_proper()
    a = np.poly(system.A)[::-1].real
    b = a - np.poly(system.A + system.B @ system.C)[::-1].real
    return a, b


def spectral_radius(system: LinearSystem, eta: float) -> float:
    """Return ρ(A + η B C)."""
    return float(np.abs(np.linalg.eigvals(system.closed_loop(eta))).max())


def _crossing_curvatures(a: np.ndarray, b: np.ndarray, radius: float) -> list[float]:
    """Return every real η at which a(z) − η b(z) has a root on |z| = radius."""
    n = a.size - 1
    powers = radius ** np.arange(n + 1)
    scaled_a, scaled_b = a * powers, b * powers
    # e_m = Σ_{j−k=m} â_j b̂_k sits at index m + n of the convolution with b̂ reversed.
    correlation = np.convolve(scaled_a, scaled_b[::-1])
    c = correlation[n + 1 :] - correlation[: n][::-1]  # c_m = e_m − e_{−m}, m = 1..n

    thetas = [0.0, np.pi]
    scale = np.abs(c).max(initial=0.0)
    if n >= 2 and scale > 0:
        # sin(mθ) = sin θ · U_{m−1}(cos θ), and U_k = 2 Σ T_j over j ≡ k (mod 2), j >= 1, plus T_0 when k is even.
        series = np.zeros(n)
        for m in range(1, n + 1):
            k = m - 1
            for j in range(k % 2, k + 1, 2):
                series[j] += c[m - 1] * (1.0 if j == 0 else 2.0)
        trimmed = np.trim_zeros(series / scale, "b")
        if trimmed.size >= 2:
            for root in chebyshev.chebroots(trimmed):
                if abs(root.imag) <= _REAL_ROOT_TOLERANCE and abs(root.real) <= 1.0 + _REAL_ROOT_TOLERANCE:
                    thetas.append(float(np.arccos(np.clip(root.real, -1.0, 1.0))))

    etas = []
    for theta in thetas:
        z = radius * np.exp(1j * theta)
        a_value = np.polynomial.polynomial.polyval(z, a)
        b_value = np.polynomial.polynomial.polyval(z, b)
        size = np.abs(scaled_a).sum() + np.abs(scaled_b).sum()
        if abs(b_value) <= 1e-13 * size:
            # b(z) = 0: no finite η puts a root here unless a(z) = 0 as well, and a root that
            # no η moves is a root at every η, which the endpoint evaluations already see.
            continue
        ratio = a_value / b_value
        if abs(ratio.imag) <= 1e-6 * max(1.0, abs(ratio)):
            etas.append(float(ratio.real))
    return etas


def worst_case_spectral_radius(
    system: LinearSystem, mu: float, L: float, *, tolerance: float = 1e-10, max_iterations: int = 200
) -> SpectralRate:
    """Compute sup_{η ∈ [µ, L]} ρ(A + η B C) by root-crossing bisection (module docstring).

    Args:
        system: a method with D = 0.
        mu, L: curvature bounds 0 < µ <= L.
        tolerance: absolute width of the final bracket [lower, rate].
        max_iterations: cap on bisection steps.

    Returns:
        A :class:`SpectralRate`; ``rate`` is the upper end of the bracket.

    Example:
        >>> from cgtheory.rates.systems import gradient_descent
        >>> round(worst_case_spectral_radius(gradient_descent(0.1), 1.0, 10.0).rate, 8)
        0.9
    """
    mu, L = require_curvature_bounds(mu, L)
    tolerance = require_positive("tolerance", tolerance)
    a, b = characteristic_polynomials(system)

    def evaluate(eta: float) -> float:
        return spectral_radius(system, min(max(eta, mu), L))

    candidates = {mu: evaluate(mu), L: evaluate(L)}
    worst_eta = max(candidates, key=candidates.get)
    lower = candidates[worst_eta]

    # Cauchy's bound on the root moduli of the monic p(·, η). Its coefficients are affine in η,
    # so their largest modulus over [µ, L] is taken at an endpoint.
    high = 1.0 + max(np.abs(a[:-1] - eta * b[:-1]).max(initial=0.0) for eta in (mu, L))
    high = max(high, lower)
    search_low = lower

    iterations = 0
    while high - max(search_low, lower) > tolerance and iterations < max_iterations:
        iterations += 1
        radius = 0.5 * (max(search_low, lower) + high)
        crossings = [eta for eta in _crossing_curvatures(a, b, radius) if mu <= eta <= L]
        if not crossings:
            high = radius
            continue
        for eta in crossings:
            value = evaluate(eta)
            if value > lower:
                lower, worst_eta = value, min(max(eta, mu), L)
        # A crossing at this level exists even if rounding puts the evaluated root just below it.
        search_low = max(search_low, radius)

    return SpectralRate(
        rate=float(max(high, lower)),
        lower=float(lower),
        worst_eta=float(worst_eta),
        certified=bool(high - lower <= max(tolerance, 1e-8 * high)),
        method="root-crossing bisection",
        iterations=iterations,
        tolerance=tolerance,
        mu=mu,
        L=L,
    )


def spectral_radius_on_grid(system: LinearSystem, mu: float, L: float, points: int = 10001) -> tuple[np.ndarray, np.ndarray]:
    """Return (η grid, ρ(M(η)) on it), a brute-force cross-check of :func:`worst_case_spectral_radius`."""
    mu, L = require_curvature_bounds(mu, L)
    etas = np.linspace(mu, L, points)
    matrices = system.A[None, :, :] + etas[:, None, None] * (system.B @ system.C)[None, :, :]
    return etas, np.abs(np.linalg.eigvals(matrices)).max(axis=1)
