import math

import numpy as np
import pytest
from scipy import optimize

from cgtheory.rates.spectral import (
    characteristic_polynomials,
    spectral_radius_on_grid,
    worst_case_spectral_radius,
)
from cgtheory.rates.systems import LinearSystem, gradient_descent, gradient_memory, heavy_ball, nesterov, sgdc

MU, L = 1.0, 100.0
KAPPA = L / MU


def controllable_form(a, b, name="test system"):
    """A strictly proper system whose closed loop has characteristic polynomial a(z) − η b(z) (descending coefficients)."""
    n = len(a) - 1
    A = np.zeros((n, n))
    A[0, :] = -np.asarray(a[1:], dtype=float)
    A[1:, :-1] = np.eye(n - 1)
    B = np.zeros((n, 1))
    B[0, 0] = 1.0
    # det(zI − A − η B C) = a(z) − η Σ_j C_j z^{n−1−j}, so C carries b's coefficients.
    C = np.asarray(b[1:], dtype=float).reshape(1, n)
    return LinearSystem(A, B, C, np.zeros((1, 1)), None, np.eye(n)[0], name)


def dense_maximum(system, mu, L):
    etas, radii = spectral_radius_on_grid(system, mu, L, 20_001)
    index = int(np.argmax(radii))
    low, high = etas[max(index - 1, 0)], etas[min(index + 1, etas.size - 1)]
    refined = optimize.minimize_scalar(
        lambda eta: -np.abs(np.linalg.eigvals(system.closed_loop(eta))).max(),
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-12},
    )
    return max(radii[index], -refined.fun)


def test_gradient_descent_closed_form():
    for alpha, expected in [(1 / L, 1 - MU / L), (2 / (MU + L), (L - MU) / (L + MU)), (0.019, 1 - 0.019 * MU)]:
        result = worst_case_spectral_radius(gradient_descent(alpha), MU, L)
        assert result.certified
        assert result.rate == pytest.approx(expected, abs=1e-9)
        assert result.lower <= result.rate


def test_heavy_ball_classical_tuning():
    alpha = 4 / (math.sqrt(L) + math.sqrt(MU)) ** 2
    beta = ((math.sqrt(KAPPA) - 1) / (math.sqrt(KAPPA) + 1)) ** 2
    result = worst_case_spectral_radius(heavy_ball(alpha, beta), MU, L)
    # Polyak: on quadratics the rate is √β = (√κ − 1)/(√κ + 1). The double roots at η = µ and L
    # limit eigenvalue accuracy to about 1e-8.
    assert result.rate == pytest.approx((math.sqrt(KAPPA) - 1) / (math.sqrt(KAPPA) + 1), abs=1e-7)


def test_nesterov_standard_tuning():
    beta = (math.sqrt(KAPPA) - 1) / (math.sqrt(KAPPA) + 1)
    result = worst_case_spectral_radius(nesterov(1 / L, beta), MU, L)
    assert result.rate == pytest.approx(1 - 1 / math.sqrt(KAPPA), abs=1e-7)


def test_interior_peak_closed_form():
    # p(z, η) = (1 − η)(z + a)³ + η(z − a)³ has ρ = a at η = 0 and η = 1, and z³ + 3a²z at η = 1/2,
    # whose roots 0, ±i√3 a give the peak √3 a (ρ is symmetric about η = 1/2).
    a = 0.5
    cubic_plus = np.poly([-a, -a, -a])
    b = cubic_plus - np.poly([a, a, a])
    system = controllable_form(cubic_plus, b)
    result = worst_case_spectral_radius(system, 0.0 + 1e-300, 1.0)
    assert result.rate == pytest.approx(math.sqrt(3) * a, abs=1e-8)
    assert result.worst_eta == pytest.approx(0.5, abs=1e-4)
    # A four-point grid misses the peak; the crossing test does not.
    _, coarse = spectral_radius_on_grid(system, 1e-300, 1.0, 4)
    assert coarse.max() < math.sqrt(3) * a - 1e-2


def test_characteristic_polynomial_is_affine():
    system = sgdc(0.05, 5, 2, "mean", lags=(2, 4))
    a, b = characteristic_polynomials(system)
    for eta in (1.0, 3.7, 10.0):
        np.testing.assert_allclose((a - eta * b)[::-1], np.poly(system.closed_loop(eta)), atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_matches_dense_grid(seed):
    rng = np.random.default_rng(seed)
    K = int(rng.integers(2, 7))
    weights = np.concatenate([[1.0], rng.uniform(0, 1, K - 1)])
    system = gradient_memory(rng.uniform(0.01, 0.15), weights)
    result = worst_case_spectral_radius(system, 1.0, 10.0)
    reference = dense_maximum(system, 1.0, 10.0)
    assert result.rate >= reference - 1e-9
    assert result.rate <= reference + 1e-7


@pytest.mark.parametrize("seed", range(4))
def test_random_cubic_matches_dense_grid(seed):
    rng = np.random.default_rng(100 + seed)
    a = np.poly(rng.uniform(-0.8, 0.8, 3))
    b = np.concatenate([[0.0], rng.normal(size=3)])
    system = controllable_form(a, b)
    reference = dense_maximum(system, 0.0 + 1e-300, 1.0)
    result = worst_case_spectral_radius(system, 1e-300, 1.0)
    assert result.rate >= reference - 1e-9
    assert result.rate <= reference + 1e-7


def test_invalid_interval_raises():
    with pytest.raises(ValueError, match="mu"):
        worst_case_spectral_radius(gradient_descent(0.1), 2.0, 1.0)
