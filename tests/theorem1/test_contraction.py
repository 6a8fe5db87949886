import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgtheory.companion import lambda_matrix
from cgtheory.contraction import contraction_factor, contraction_factor_search


@st.composite
def problems(draw, max_K=4):
    mu = draw(st.floats(0.05, 5.0))
    L = mu * draw(st.floats(1.0, 50.0))
    alpha = draw(st.floats(0.01, 2.5)) / L
    K = draw(st.integers(1, max_K))
    form = draw(st.sampled_from(["companion", "printed"]))
    return alpha, K, mu, L, form


@settings(max_examples=25, deadline=None, derandomize=True)
@given(problems())
def test_search_never_exceeds_exact_and_comes_close(problem):
    exact = contraction_factor(*problem).q
    search = contraction_factor_search(*problem, maxiter=80).q
    assert search <= exact * (1 + 1e-12)
    assert search >= exact * (1 - 1e-5)


@settings(max_examples=200, deadline=None)
@given(problems(max_K=8), st.integers(0, 2**32 - 1))
def test_random_points_stay_below_exact(problem, seed):
    alpha, K, mu, L, form = problem
    rng = np.random.default_rng(seed)
    exact = contraction_factor(alpha, K, mu, L, form).q
    for _ in range(20):
        weights = rng.uniform(0, 1, K - 1)
        curvatures = rng.uniform(mu, L, K)
        assert np.linalg.norm(lambda_matrix(alpha, weights, curvatures, form), 2) <= exact * (1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(problems(max_K=12))
def test_maximizer_attains_q(problem):
    result = contraction_factor(*problem)
    matrix = lambda_matrix(result.alpha, result.weights, result.curvatures, result.form)
    assert np.linalg.norm(matrix, 2) == pytest.approx(result.q, rel=1e-12)


def test_search_finds_near_tied_endpoint():
    # |1 - αµ| = 0.923125 and |1 - αL| = 0.921875: two far-apart maxima of nearly equal height.
    exact = contraction_factor(0.076875, 1, 1.0, 25.0).q
    search = contraction_factor_search(0.076875, 1, 1.0, 25.0, maxiter=80).q
    assert search == pytest.approx(exact, rel=1e-9)


def test_k1_is_gradient_descent_rate():
    for alpha in (0.01, 0.1, 0.15, 0.19, 0.25):
        expected = max(abs(1 - alpha * 1.0), abs(1 - alpha * 10.0))
        assert contraction_factor(alpha, 1, 1.0, 10.0).q == pytest.approx(expected, abs=1e-15)


@settings(max_examples=200, deadline=None)
@given(problems(max_K=50).filter(lambda p: p[1] >= 2))
def test_memory_makes_q_at_least_one(problem):
    assert contraction_factor(*problem).q >= 1.0


def test_q_equals_one_only_at_degenerate_point():
    # µ = L = 1/α and K = 2: λ_0 = 0, so the companion Λ is [[0, -1], [1, 0]], a rotation.
    assert contraction_factor(1.0, 2, 1.0, 1.0).q == pytest.approx(1.0, abs=1e-15)


def test_large_K_is_exact_and_fast_enough():
    result = contraction_factor(1e-3, 10_000, 1.0, 10.0)
    assert result.weights.shape == (9_999,)
    assert np.isfinite(result.q)


def test_forms_differ():
    companion = contraction_factor(0.05, 3, 1.0, 10.0, "companion").q
    printed = contraction_factor(0.05, 3, 1.0, 10.0, "printed").q
    assert abs(companion - printed) > 1e-3


@pytest.mark.parametrize(
    "args, message",
    [
        ((0.0, 2, 1.0, 2.0), "alpha"),
        ((-1.0, 2, 1.0, 2.0), "alpha"),
        ((float("nan"), 2, 1.0, 2.0), "alpha"),
        ((float("inf"), 2, 1.0, 2.0), "alpha"),
        ((0.1, 0, 1.0, 2.0), "K"),
        ((0.1, 2.5, 1.0, 2.0), "K"),
        ((0.1, 2, 0.0, 2.0), "mu"),
        ((0.1, 2, -1.0, 2.0), "mu"),
        ((0.1, 2, 3.0, 2.0), "mu"),
        ((0.1, 2, 1.0, float("nan")), "L"),
        ((0.1, 2, 1.0, float("inf")), "L"),
    ],
)
def test_contraction_factor_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        contraction_factor(*args)


def test_contraction_factor_rejects_unknown_form():
    with pytest.raises(ValueError, match="form must be one of companion, printed"):
        contraction_factor(0.1, 2, 1.0, 2.0, form="diagonal")
