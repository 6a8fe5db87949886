import numpy as np
import pytest
import sympy as sp

from cgtheory.companion import lambda_matrix
from cgtheory.symbolic import (
    characteristic_polynomial,
    first_row_symbols,
    k1_rate_comparison,
    prove_q_at_least_one,
    singular_values_squared,
    small_step_limit,
    verify_gram_factorization,
    z,
)


def test_companion_charpoly_is_recursion_polynomial():
    lam = first_row_symbols(3)
    expected = z**3 - lam[0] * z**2 - lam[1] * z - lam[2]
    assert sp.expand(characteristic_polynomial(3) - expected) == 0


def test_printed_charpoly_ignores_memory():
    lam = first_row_symbols(4)
    assert sp.expand(characteristic_polynomial(4, "printed") - (z - lam[0]) * (z - 1) ** 3) == 0


@pytest.mark.parametrize("K", [2, 3, 4, 5])
@pytest.mark.parametrize("form", ["companion", "printed"])
def test_gram_factorization(K, form):
    assert verify_gram_factorization(K, form).proven


@pytest.mark.parametrize("form", ["companion", "printed"])
def test_closed_form_singular_values_match_svd(form):
    rng = np.random.default_rng(5)
    K = 4
    alpha, weights, curvatures = 0.1, rng.uniform(0, 1, K - 1), rng.uniform(1, 10, K)
    matrix = lambda_matrix(alpha, weights, curvatures, form)
    values = dict(zip(first_row_symbols(K), matrix[0]))
    closed = sorted(float(sp.sqrt(expr.subs(values))) for expr in singular_values_squared(K, form))
    np.testing.assert_allclose(closed, np.sort(np.linalg.svd(matrix, compute_uv=False)), atol=1e-12)


def test_q_at_least_one_is_proven():
    fact = prove_q_at_least_one()
    assert fact.proven
    assert all(expr == 0 for _, expr in fact.identities)


def test_small_step_limits():
    assert small_step_limit("companion") == 2
    assert small_step_limit("printed") == 1


def test_k1_printed_formula_differs_from_gradient_descent():
    comparison = k1_rate_comparison()
    mu, L = sp.symbols("mu L", positive=True)
    correct = comparison["correct_at_alpha_1_over_L"].subs({mu: 1, L: 10})
    printed = comparison["printed_at_alpha_1_over_L"].subs({mu: 1, L: 10})
    assert correct == sp.Rational(9, 10)
    assert printed == 0
