"""Ridge problem: constants, θ*, gradients and σ² against independent computations."""

import numpy as np
import pytest
import scipy.sparse
from sklearn.linear_model import Ridge

from cgtheory.problems import RidgeProblem, make_problem


def reference_loss(X, y, lam, theta):
    residual = X @ theta - y
    return 0.5 * np.mean(residual**2) + 0.5 * lam * theta @ theta


def reference_example_gradients(X, y, lam, theta):
    residual = X @ theta - y
    return residual[:, None] * X + lam * theta


def central_difference_gradient(function, theta, step=1e-6):
    gradient = np.empty_like(theta)
    for j in range(len(theta)):
        e = np.zeros_like(theta)
        e[j] = step
        gradient[j] = (function(theta + e) - function(theta - e)) / (2 * step)
    return gradient


@pytest.fixture(scope="module")
def diabetes():
    return make_problem("ridge", "diabetes", regularization=1e-2)


def test_constants_match_eigvalsh(diabetes):
    X, lam = diabetes.X, diabetes.regularization
    eigenvalues = np.linalg.eigvalsh(X.T @ X / diabetes.n + lam * np.eye(diabetes.dim))
    record = diabetes.record

    assert record.mu == pytest.approx(eigenvalues[0], rel=1e-10)
    assert record.L == pytest.approx(eigenvalues[-1], rel=1e-10)
    assert record.hessian_spectrum[0] == pytest.approx(eigenvalues[0], rel=1e-10)
    assert record.hessian_spectrum[1] == pytest.approx(eigenvalues[-1], rel=1e-10)


def test_hessian_is_gram_plus_lambda(diabetes):
    X, lam = diabetes.X, diabetes.regularization
    expected = X.T @ X / diabetes.n + lam * np.eye(diabetes.dim)
    theta = np.random.default_rng(0).normal(size=diabetes.dim)

    np.testing.assert_allclose(diabetes.hessian(theta), expected, rtol=1e-12, atol=1e-14)


def test_theta_star_matches_sklearn_ridge(diabetes):
    # Ridge minimizes ‖y − Xw‖² + α‖w‖², which is 2n·F for α = n·λ.
    model = Ridge(alpha=diabetes.n * diabetes.regularization, fit_intercept=False, solver="cholesky")
    model.fit(diabetes.X, diabetes.targets)

    np.testing.assert_allclose(diabetes.theta_star, model.coef_, rtol=0, atol=1e-10)
    assert diabetes.record.gradient_norm_at_optimum < 1e-12


def test_loss_matches_formula(diabetes):
    theta = np.random.default_rng(1).normal(size=diabetes.dim)
    expected = reference_loss(diabetes.X, diabetes.targets, diabetes.regularization, theta)

    assert diabetes.loss(theta) == pytest.approx(expected, rel=1e-13)


def test_gradient_matches_finite_differences(diabetes):
    X, y, lam = diabetes.X, diabetes.targets, diabetes.regularization
    theta = np.random.default_rng(2).normal(size=diabetes.dim)
    expected = central_difference_gradient(lambda t: reference_loss(X, y, lam, t), theta)

    np.testing.assert_allclose(diabetes.gradient(theta), expected, rtol=1e-6, atol=1e-8)


def test_per_example_gradients_match_formula(diabetes):
    X, y, lam = diabetes.X, diabetes.targets, diabetes.regularization
    theta = np.random.default_rng(3).normal(size=diabetes.dim)
    expected = reference_example_gradients(X, y, lam, theta)
    per_example = diabetes.per_example_gradients(theta)

    np.testing.assert_allclose(per_example, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(per_example.mean(axis=0), diabetes.gradient(theta), rtol=1e-10, atol=1e-12)


def test_batch_gradient_counts_repeats(diabetes):
    X, y, lam = diabetes.X, diabetes.targets, diabetes.regularization
    theta = np.random.default_rng(4).normal(size=diabetes.dim)
    indices = np.array([5, 5, 17, 400])
    expected = reference_example_gradients(X, y, lam, theta)[indices].mean(axis=0)

    np.testing.assert_allclose(diabetes.batch_gradient(theta, indices), expected, rtol=1e-12, atol=1e-12)


def test_sigma2_matches_finite_sum_formula(diabetes):
    G = reference_example_gradients(diabetes.X, diabetes.targets, diabetes.regularization, diabetes.theta_star)
    per_example_variance = np.mean(np.sum((G - G.mean(axis=0)) ** 2, axis=1))

    for batch_size in (1, 16):
        noise = diabetes.sigma2(batch_size)
        assert noise.sigma2 == pytest.approx(per_example_variance / batch_size, rel=1e-10)
        assert noise.stderr == 0.0


def test_sigma2_matches_monte_carlo(diabetes):
    G = reference_example_gradients(diabetes.X, diabetes.targets, diabetes.regularization, diabetes.theta_star)
    full_gradient = G.mean(axis=0)
    rng = np.random.default_rng(5)
    batch_size, num_batches = 16, 4000
    indices = rng.integers(0, diabetes.n, size=(num_batches, batch_size))
    squared = np.sum((G[indices].mean(axis=1) - full_gradient) ** 2, axis=1)
    estimate, stderr = squared.mean(), squared.std(ddof=1) / np.sqrt(num_batches)

    assert abs(diabetes.sigma2(batch_size).sigma2 - estimate) < 4 * stderr


def test_estimate_sigma2_agrees_with_exact(diabetes):
    estimate = diabetes.estimate_sigma2(4, 3000, np.random.default_rng(6))
    exact = diabetes.sigma2(4)

    assert estimate.stderr > 0
    assert abs(estimate.sigma2 - exact.sigma2) < 4 * estimate.stderr


def test_sparse_matches_dense(diabetes):
    sparse = RidgeProblem(scipy.sparse.csr_matrix(diabetes.X), diabetes.targets, diabetes.regularization)
    theta = np.random.default_rng(7).normal(size=diabetes.dim)

    np.testing.assert_allclose(sparse.theta_star, diabetes.theta_star, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sparse.gradient(theta), diabetes.gradient(theta), rtol=1e-12, atol=1e-12)
    assert sparse.record.mu == pytest.approx(diabetes.record.mu, rel=1e-10)
    assert sparse.record.noise_per_example == pytest.approx(diabetes.record.noise_per_example, rel=1e-10)


def test_singular_without_regularization_raises():
    X = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])

    with pytest.raises(ValueError, match="not strongly convex"):
        RidgeProblem(X, np.array([1.0, 2.0, 3.0]), 0.0)


def test_zero_regularization_full_rank_solves_least_squares():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(50, 4))
    y = rng.normal(size=50)
    expected, *_ = np.linalg.lstsq(X, y, rcond=None)

    np.testing.assert_allclose(RidgeProblem(X, y, 0.0).theta_star, expected, rtol=1e-10)


def test_ridge_has_no_uniform_noise_bound(diabetes):
    assert diabetes.record.sigma2_bound(1) is None


def test_matrix_free_path_matches_dense(diabetes):
    matrix_free = RidgeProblem(diabetes.X, diabetes.targets, diabetes.regularization, dense_max_dim=5)

    np.testing.assert_allclose(matrix_free.theta_star, diabetes.theta_star, rtol=0, atol=1e-10)
    assert matrix_free.record.mu == pytest.approx(diabetes.record.mu, rel=1e-8)
    assert matrix_free.record.L == pytest.approx(diabetes.record.L, rel=1e-8)
    assert matrix_free.record.hessian_method.startswith("Lanczos")


def test_more_features_than_examples_gives_mu_lambda():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(20, 60))
    y = rng.normal(size=20)
    lam = 0.1
    eigenvalues = np.linalg.eigvalsh(X.T @ X / 20 + lam * np.eye(60))

    for dense_max_dim in (100, 10):
        record = RidgeProblem(X, y, lam, dense_max_dim=dense_max_dim).record
        assert record.mu == pytest.approx(eigenvalues[0], rel=1e-8)
        assert record.L == pytest.approx(eigenvalues[-1], rel=1e-8)
