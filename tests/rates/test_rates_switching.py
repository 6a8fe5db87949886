import itertools
import math

import numpy as np
import pytest

from cgtheory.rates.spectral import worst_case_spectral_radius
from cgtheory.rates.switching import switching_lower_bound, switching_lyapunov_rate
from cgtheory.rates.systems import LinearSystem, gradient_descent, heavy_ball, sgdc, sgdc_modes


def matrix_system(A, name):
    """A system with B C = 0, so M(η) = A for every η: a switching set of fixed matrices."""
    n = A.shape[0]
    return LinearSystem(np.asarray(A, float), np.zeros((n, 1)), np.eye(n)[:1], np.zeros((1, 1)), None, np.eye(n)[0], name)


def test_lyapunov_matches_gradient_descent():
    # One mode, M(η) = 1 − αη: the common P over each piece is exact at the endpoints.
    result = switching_lyapunov_rate(gradient_descent(2 / 11), 1.0, 10.0, tolerance=1e-5)
    assert result.certified
    assert 9 / 11 - 1e-9 <= result.rate <= 9 / 11 + 2e-5
    assert result.certificate.verification.passed


def test_lyapunov_bounds_fixed_weight_rate_from_above():
    system = sgdc(0.05, 6, 5, "sum")
    exact = worst_case_spectral_radius(system, 1.0, 10.0).rate
    result = switching_lyapunov_rate(system, 1.0, 10.0, tolerance=1e-4)
    assert result.certified
    assert exact - 1e-9 <= result.rate <= exact + 0.02


def test_switching_bounds_for_fixed_pair():
    # A_1 = [[1, 1], [0, 1]] and A_2 = [[1, 0], [1, 1]]: A_1 A_2 = [[2, 1], [1, 1]] has spectral radius
    # (3 + √5)/2, so ρ(A_1 A_2)^{1/2} is the golden ratio φ. Scaled by 0.5, φ/2 ≈ 0.809.
    first_matrix = 0.5 * np.array([[1.0, 1.0], [0.0, 1.0]])
    second_matrix = 0.5 * np.array([[1.0, 0.0], [1.0, 1.0]])
    first, second = matrix_system(first_matrix, "A1"), matrix_system(second_matrix, "A2")
    golden = 0.5 * (1 + math.sqrt(5)) / 2
    brute = 0.0
    for length in range(1, 5):
        for word in itertools.product([first_matrix, second_matrix], repeat=length):
            brute = max(brute, np.abs(np.linalg.eigvals(np.linalg.multi_dot([np.eye(2), *word]))).max() ** (1 / length))
    assert brute == pytest.approx(golden, abs=1e-12)
    lower = switching_lower_bound([first, second], 1.0, 2.0, max_length=4)
    assert lower.rate == pytest.approx(brute, abs=1e-12)
    assert sorted(lower.product) == [0, 1]
    upper = switching_lyapunov_rate([first, second], 1.0, 2.0, pieces=1, refinements=0, tolerance=1e-4)
    assert upper.certified
    assert golden - 1e-9 <= upper.rate
    # A common quadratic Lyapunov function is not exact for this pair, but stays within a few percent.
    assert upper.rate <= golden * 1.06


def test_bracket_for_switching_sgdc():
    modes = sgdc_modes(0.03, 5, 2, "sum")
    lower = switching_lower_bound(modes, 1.0, 10.0, max_length=3)
    upper = switching_lyapunov_rate(modes, 1.0, 10.0, pieces=2, refinements=1, tolerance=1e-4)
    single = max(worst_case_spectral_radius(m, 1.0, 10.0).rate for m in modes)
    assert single - 1e-9 <= lower.rate
    assert upper.certified
    assert lower.rate <= upper.rate + 1e-9


def test_lower_bound_product_is_a_witness():
    modes = sgdc_modes(0.05, 4, 2, "mean")
    lower = switching_lower_bound(modes, 1.0, 10.0, max_length=3)
    product = np.eye(modes[0].order)
    for index in lower.product:
        product = modes[index].closed_loop(lower.eta) @ product
    assert np.abs(np.linalg.eigvals(product)).max() ** (1 / lower.length) == pytest.approx(lower.rate, rel=1e-12)


def test_classical_heavy_ball_is_certified_on_quadratics():
    mu, L = 1.0, 10.0
    kappa = L / mu
    system = heavy_ball(4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2)
    result = switching_lyapunov_rate(system, mu, L, tolerance=1e-4)
    # Certified below 1 on quadratics, above the quadratic rate (√κ − 1)/(√κ + 1).
    assert result.certified and result.rate < 1
    assert result.rate >= (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1) - 1e-9


def test_invalid_modes_raise():
    with pytest.raises(ValueError, match="state dimension"):
        switching_lyapunov_rate([gradient_descent(0.1), heavy_ball(0.1, 0.2)], 1.0, 10.0)
    with pytest.raises(ValueError, match="systems"):
        switching_lower_bound([], 1.0, 10.0)
