"""Logistic problems: constants, θ*, gradients and σ² against independent computations."""

import numpy as np
import pytest
import scipy.special
from sklearn.linear_model import LogisticRegression

from cgtheory.problems import (
    BinaryLogisticProblem,
    MultinomialLogisticProblem,
    NewtonConvergenceError,
    make_problem,
)


# Independent formulas. Binary: labels s_i in {-1, +1}. Multinomial: class
# indices c_i, θ the row-major flattening of a (p, K) matrix.

def binary_loss(X, s, lam, theta):
    return np.mean(np.logaddexp(0.0, -s * (X @ theta))) + 0.5 * lam * theta @ theta


def binary_example_gradients(X, s, lam, theta):
    weights = -s * scipy.special.expit(-s * (X @ theta))
    return weights[:, None] * X + lam * theta


def binary_hessian(X, lam, theta):
    p = scipy.special.expit(X @ theta)
    return X.T @ (X * (p * (1 - p))[:, None]) / X.shape[0] + lam * np.eye(X.shape[1])


def multinomial_loss(X, c, lam, theta, K):
    Z = X @ theta.reshape(X.shape[1], K)
    return np.mean(scipy.special.logsumexp(Z, axis=1) - Z[np.arange(len(c)), c]) + 0.5 * lam * theta @ theta


def multinomial_example_gradients(X, c, lam, theta, K):
    P = scipy.special.softmax(X @ theta.reshape(X.shape[1], K), axis=1)
    P[np.arange(len(c)), c] -= 1.0
    return np.stack([np.outer(X[i], P[i]).ravel() for i in range(len(c))]) + lam * theta


def multinomial_hessian(X, lam, theta, K):
    P = scipy.special.softmax(X @ theta.reshape(X.shape[1], K), axis=1)
    H = lam * np.eye(X.shape[1] * K)
    for x, p in zip(X, P):
        H += np.kron(np.outer(x, x), np.diag(p) - np.outer(p, p)) / X.shape[0]
    return H


def central_difference_gradient(function, theta, step=1e-6):
    gradient = np.empty_like(theta)
    for j in range(len(theta)):
        e = np.zeros_like(theta)
        e[j] = step
        gradient[j] = (function(theta + e) - function(theta - e)) / (2 * step)
    return gradient


@pytest.fixture(scope="module")
def cancer():
    return make_problem("logistic", "breast_cancer", regularization=1e-2)


@pytest.fixture(scope="module")
def digits_small():
    return make_problem("logistic", "digits", regularization=1e-2, subsample=300, seed=0)


def test_kinds_follow_label_count(cancer, digits_small):
    assert isinstance(cancer, BinaryLogisticProblem)
    assert isinstance(digits_small, MultinomialLogisticProblem)
    assert digits_small.n_classes == 10
    assert digits_small.dim == 65 * 10


def test_binary_theta_star_matches_sklearn(cancer):
    n, lam = cancer.n, cancer.regularization
    model = LogisticRegression(C=1 / (n * lam), fit_intercept=False, solver="newton-cholesky", tol=1e-12,
                               max_iter=1000)
    model.fit(cancer.X, cancer.targets)
    theirs = model.coef_.ravel()
    # ‖θ − θ*‖ ≤ ‖∇F(θ)‖/µ for a µ-strongly convex F.
    tolerance = (np.linalg.norm(cancer.gradient(theirs)) + cancer.record.gradient_norm_at_optimum) / lam

    assert cancer.record.gradient_norm_at_optimum <= 1e-10
    assert np.linalg.norm(cancer.theta_star - theirs) <= tolerance + 1e-12


def test_multinomial_theta_star_matches_sklearn(digits_small):
    n, lam = digits_small.n, digits_small.regularization
    model = LogisticRegression(C=1 / (n * lam), fit_intercept=False, solver="newton-cholesky", tol=1e-12,
                               max_iter=1000)
    model.fit(digits_small.X, digits_small.targets)
    theirs = model.coef_.T.ravel()
    tolerance = (np.linalg.norm(digits_small.gradient(theirs)) + digits_small.record.gradient_norm_at_optimum) / lam

    assert digits_small.record.gradient_norm_at_optimum <= 1e-10
    assert np.linalg.norm(digits_small.theta_star - theirs) <= tolerance + 1e-12


def test_binary_loss_and_gradient(cancer):
    X, s, lam = cancer.X, cancer.targets, cancer.regularization
    theta = np.random.default_rng(0).normal(scale=0.3, size=cancer.dim)
    expected = central_difference_gradient(lambda t: binary_loss(X, s, lam, t), theta)

    assert cancer.loss(theta) == pytest.approx(binary_loss(X, s, lam, theta), rel=1e-13)
    np.testing.assert_allclose(cancer.gradient(theta), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(cancer.per_example_gradients(theta), binary_example_gradients(X, s, lam, theta),
                               rtol=1e-12, atol=1e-14)


def test_multinomial_loss_and_gradient(digits_small):
    X, c, lam, K = digits_small.X, digits_small.targets, digits_small.regularization, 10
    theta = np.random.default_rng(1).normal(scale=0.3, size=digits_small.dim)
    expected = central_difference_gradient(lambda t: multinomial_loss(X, c, lam, t, K), theta)

    assert digits_small.loss(theta) == pytest.approx(multinomial_loss(X, c, lam, theta, K), rel=1e-13)
    np.testing.assert_allclose(digits_small.gradient(theta), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(digits_small.per_example_gradients(theta),
                               multinomial_example_gradients(X, c, lam, theta, K), rtol=1e-12, atol=1e-14)


def test_multinomial_hessian_matches_kron_formula(digits_small):
    theta = np.random.default_rng(2).normal(scale=0.3, size=digits_small.dim)
    expected = multinomial_hessian(digits_small.X, digits_small.regularization, theta, 10)

    np.testing.assert_allclose(digits_small.hessian(theta), expected, rtol=1e-10, atol=1e-13)


def test_hessian_vector_product_matches_finite_differences(digits_small):
    rng = np.random.default_rng(3)
    theta = rng.normal(scale=0.3, size=digits_small.dim)
    vector = rng.normal(size=digits_small.dim)
    step = 1e-6
    expected = (digits_small.gradient(theta + step * vector) - digits_small.gradient(theta - step * vector)) / (2 * step)

    np.testing.assert_allclose(digits_small.hessian_vector_product(theta, vector), expected, rtol=1e-6, atol=1e-8)


def test_binary_spectrum_at_optimum(cancer):
    eigenvalues = np.linalg.eigvalsh(binary_hessian(cancer.X, cancer.regularization, cancer.theta_star))
    low, high = cancer.record.hessian_spectrum

    assert low == pytest.approx(eigenvalues[0], rel=1e-9)
    assert high == pytest.approx(eigenvalues[-1], rel=1e-9)


def test_multinomial_spectrum_at_optimum(digits_small):
    H = multinomial_hessian(digits_small.X, digits_small.regularization, digits_small.theta_star, 10)
    eigenvalues = np.linalg.eigvalsh(H)
    low, high = digits_small.record.hessian_spectrum

    assert low == pytest.approx(eigenvalues[0], rel=1e-9)
    assert high == pytest.approx(eigenvalues[-1], rel=1e-9)


@pytest.mark.parametrize("scale", [0.0, 0.1, 1.0, 10.0])
def test_binary_constants_bound_hessian(cancer, scale):
    rng = np.random.default_rng(4)
    record = cancer.record
    for _ in range(3):
        theta = rng.normal(scale=scale, size=cancer.dim)
        eigenvalues = np.linalg.eigvalsh(binary_hessian(cancer.X, cancer.regularization, theta))
        assert eigenvalues[-1] <= record.L * (1 + 1e-12)
        assert eigenvalues[0] >= record.mu * (1 - 1e-9)


@pytest.mark.parametrize("scale", [0.0, 0.1, 1.0, 10.0])
def test_multinomial_constants_bound_hessian(digits_small, scale):
    rng = np.random.default_rng(5)
    record = digits_small.record
    theta = rng.normal(scale=scale, size=digits_small.dim)
    eigenvalues = np.linalg.eigvalsh(multinomial_hessian(digits_small.X, digits_small.regularization, theta, 10))

    assert eigenvalues[-1] <= record.L * (1 + 1e-12)
    assert eigenvalues[0] >= record.mu * (1 - 1e-9)


def test_binary_L_uses_quarter_gram(cancer):
    gram_max = np.linalg.eigvalsh(cancer.X.T @ cancer.X)[-1]

    assert cancer.record.L == pytest.approx(gram_max / (4 * cancer.n) + cancer.regularization, rel=1e-10)
    assert cancer.record.mu == cancer.regularization


def test_multinomial_L_uses_half_gram(digits_small):
    gram_max = np.linalg.eigvalsh(digits_small.X.T @ digits_small.X)[-1]

    assert digits_small.record.L == pytest.approx(gram_max / (2 * digits_small.n) + digits_small.regularization,
                                                  rel=1e-10)


def test_binary_sigma2_exact_and_monte_carlo(cancer):
    G = binary_example_gradients(cancer.X, cancer.targets, cancer.regularization, cancer.theta_star)
    per_example_variance = np.mean(np.sum((G - G.mean(axis=0)) ** 2, axis=1))
    rng = np.random.default_rng(6)
    batch_size, num_batches = 16, 4000
    indices = rng.integers(0, cancer.n, size=(num_batches, batch_size))
    squared = np.sum((G[indices].mean(axis=1) - G.mean(axis=0)) ** 2, axis=1)
    stderr = squared.std(ddof=1) / np.sqrt(num_batches)

    assert cancer.sigma2(1).sigma2 == pytest.approx(per_example_variance, rel=1e-10)
    assert cancer.sigma2(16).sigma2 == pytest.approx(per_example_variance / 16, rel=1e-10)
    assert abs(cancer.sigma2(batch_size).sigma2 - squared.mean()) < 4 * stderr


def test_multinomial_sigma2_exact(digits_small):
    G = multinomial_example_gradients(digits_small.X, digits_small.targets, digits_small.regularization,
                                      digits_small.theta_star, 10)
    per_example_variance = np.mean(np.sum((G - G.mean(axis=0)) ** 2, axis=1))

    assert digits_small.sigma2(1).sigma2 == pytest.approx(per_example_variance, rel=1e-10)
    assert digits_small.sigma2(16).stderr == 0.0


def test_noise_bound_holds_at_random_points(cancer, digits_small):
    rng = np.random.default_rng(7)
    for problem in (cancer, digits_small):
        bound = problem.record.sigma2_bound(1)
        for scale in (0.0, 1.0, 10.0):
            theta = rng.normal(scale=scale, size=problem.dim)
            assert problem.noise_per_example(theta) <= bound


def test_labels_zero_one_and_signed_agree(cancer):
    signed = 2 * cancer.targets.astype(int) - 1
    zero_one = (cancer.targets > 0).astype(int)
    a = BinaryLogisticProblem(cancer.X, signed, cancer.regularization)
    b = BinaryLogisticProblem(cancer.X, zero_one, cancer.regularization)

    np.testing.assert_allclose(a.theta_star, b.theta_star, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.theta_star, cancer.theta_star, rtol=0, atol=1e-12)


def test_zero_regularization_rejected(cancer):
    with pytest.raises(ValueError, match="regularization"):
        BinaryLogisticProblem(cancer.X, cancer.targets, 0.0)


def test_real_valued_labels_rejected():
    X = np.random.default_rng(8).normal(size=(6, 2))

    with pytest.raises(ValueError, match="regression targets"):
        MultinomialLogisticProblem(X, np.array([0.5, 1.0, 2.0, 0.5, 1.0, 2.0]), 0.1)


def test_newton_iteration_limit_raises(cancer):
    problem = BinaryLogisticProblem(cancer.X, cancer.targets, 1e-4, newton_max_iterations=1)

    with pytest.raises(NewtonConvergenceError, match="newton_max_iterations"):
        problem.theta_star


def test_matrix_free_path_matches_dense(digits_small):
    lam = digits_small.regularization
    matrix_free = MultinomialLogisticProblem(digits_small.X, digits_small.targets, lam, dense_max_dim=50)
    record, dense = matrix_free.record, digits_small.record

    assert record.hessian_method.startswith("Lanczos")
    assert record.gradient_norm_at_optimum <= 1e-10
    assert np.linalg.norm(matrix_free.theta_star - digits_small.theta_star) <= 2e-10 / lam
    assert record.L == pytest.approx(dense.L, rel=1e-8)
    assert record.hessian_spectrum[0] == pytest.approx(dense.hessian_spectrum[0], rel=1e-6)
    assert record.hessian_spectrum[1] == pytest.approx(dense.hessian_spectrum[1], rel=1e-6)


def test_binary_matrix_free_spectrum(cancer):
    matrix_free = BinaryLogisticProblem(cancer.X, cancer.targets, cancer.regularization, dense_max_dim=10)
    low, high = matrix_free.record.hessian_spectrum
    eigenvalues = np.linalg.eigvalsh(binary_hessian(cancer.X, cancer.regularization, cancer.theta_star))

    assert matrix_free.record.hessian_method.startswith("Lanczos")
    # The smallest eigenvalue comes from a shifted operator, accurate to
    # about 1e-10 times the largest.
    assert low == pytest.approx(eigenvalues[0], abs=1e-8 * eigenvalues[-1])
    assert high == pytest.approx(eigenvalues[-1], rel=1e-8)
