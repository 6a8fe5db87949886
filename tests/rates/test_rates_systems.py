import math

import numpy as np
import pytest

from cgtheory.rates.systems import (
    build_algorithm,
    filling_modes,
    gradient_descent,
    gradient_memory,
    heavy_ball,
    nesterov,
    sgdc,
    sgdc_filling_schedule,
    sgdc_modes,
)


def run_closed_loop(system, hessian, theta0, steps, start=None):
    """Simulate ξ_{t+1} = (A⊗I) ξ_t + (B⊗I) H (C⊗I) ξ_t on f(θ) = θᵀHθ/2 and return the θ_t."""
    d = hessian.shape[0]
    A, B, C, _ = system.lift(d)
    direction = system.fixed_point if start is None else start
    state = np.kron(direction, theta0)
    iterate = np.kron(system.iterate, np.eye(d))
    thetas = [iterate @ state]
    for _ in range(steps):
        state = A @ state + B @ (hessian @ (C @ state))
        thetas.append(iterate @ state)
    return np.array(thetas)


def test_gradient_descent_matches_update():
    rng = np.random.default_rng(0)
    hessian = np.diag([1.0, 4.0, 9.0])
    theta0 = rng.normal(size=3)
    thetas = run_closed_loop(gradient_descent(0.1), hessian, theta0, 5)
    expected = [theta0]
    for _ in range(5):
        expected.append(expected[-1] - 0.1 * hessian @ expected[-1])
    np.testing.assert_allclose(thetas, expected, atol=1e-12)


def test_heavy_ball_matches_update():
    rng = np.random.default_rng(1)
    hessian = np.diag([1.0, 3.0])
    theta0 = rng.normal(size=2)
    thetas = run_closed_loop(heavy_ball(0.2, 0.5), hessian, theta0, 6)
    previous, current = theta0, theta0
    expected = [theta0]
    for _ in range(6):
        previous, current = current, current - 0.2 * hessian @ current + 0.5 * (current - previous)
        expected.append(current)
    np.testing.assert_allclose(thetas, expected, atol=1e-12)


def test_nesterov_matches_update():
    rng = np.random.default_rng(2)
    hessian = np.diag([1.0, 5.0])
    theta0 = rng.normal(size=2)
    thetas = run_closed_loop(nesterov(0.1, 0.6), hessian, theta0, 6)
    previous, current = theta0, theta0
    expected = [theta0]
    for _ in range(6):
        y = current + 0.6 * (current - previous)
        previous, current = current, y - 0.1 * hessian @ y
        expected.append(current)
    np.testing.assert_allclose(thetas, expected, atol=1e-12)


@pytest.mark.parametrize("aggr", ["mean", "sum"])
def test_sgdc_matches_aggregation_rule(aggr):
    # SGDC with a fixed buffer of lags {1, 3}: the update aggregates g_t with g_{t-1} and g_{t-3},
    # and gradients from before t = 0 read as zero.
    rng = np.random.default_rng(3)
    hessian = np.diag([1.0, 2.0, 6.0])
    theta0 = rng.normal(size=3)
    alpha = 0.07
    thetas = run_closed_loop(sgdc(alpha, 5, 2, aggr, lags=(1, 3)), hessian, theta0, 8)

    gradients = {}
    theta = theta0
    expected = [theta0]
    for t in range(8):
        gradients[t] = hessian @ theta
        buffer = [gradients.get(t - lag, np.zeros(3)) for lag in (1, 3)]
        if aggr == "mean":
            step = (gradients[t] + sum(buffer)) / 3.0
        else:
            step = gradients[t] + sum(buffer) / 2.0
        theta = theta - alpha * step
        expected.append(theta)
    np.testing.assert_allclose(thetas, expected, atol=1e-12)


def test_sgdc_characteristic_polynomial():
    # det(zI − M(η)) = z^K − z^{K−1} + αη Σ_k w_k z^{K−1−k} for the gradient-memory form.
    alpha, eta, weights = 0.1, 3.0, [1.0, 0.5, 0.0, 0.25]
    system = gradient_memory(alpha, weights)
    expected = np.zeros(5)
    expected[0], expected[1] = 1.0, -1.0
    expected[1:] += alpha * eta * np.array(weights)
    np.testing.assert_allclose(np.poly(system.closed_loop(eta)), expected, atol=1e-12)


def test_sgdc_modes_count_and_filling():
    modes = sgdc_modes(0.1, 8, 3, "mean")
    assert len(modes) == math.comb(7, 3)
    assert len({tuple(m.parameters["lags"]) for m in modes}) == len(modes)
    with_filling = sgdc_modes(0.1, 8, 3, "mean", include_filling=True)
    assert len(with_filling) == len(modes) + 3
    filling = filling_modes(0.1, 8, 3, "sum")
    assert [m.parameters["lags"] for m in filling] == [[], [1], [1, 2]]
    # While filling, sum aggregation is g_t plus the mean of the stored gradients.
    np.testing.assert_allclose(filling[2].A[0, 1:3], [-0.5, -0.5])
    np.testing.assert_allclose(filling[0].B[0, 0], -0.1)


def test_filling_schedule_then_full_buffer():
    schedule = sgdc_filling_schedule(0.1, 4, 2, "mean", 5)
    assert [s.parameters["lags"] for s in schedule] == [[], [1], [1, 2], [1, 2], [1, 2]]


def test_lift_is_kronecker():
    A, B, C, D = heavy_ball(0.1, 0.3).lift(3)
    assert A.shape == (6, 6)
    assert B.shape == (6, 3)
    assert C.shape == (3, 6)
    assert D.shape == (3, 3)
    np.testing.assert_allclose(A[:3, :3], 1.3 * np.eye(3))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: sgdc(0.1, 3, 3, "sum"), "topC must be < K"),
        (lambda: sgdc(0.1, 3, 0, "sum"), "topC"),
        (lambda: sgdc(0.0, 3, 1, "sum"), "alpha"),
        (lambda: sgdc(0.1, 3, 1, "median"), "aggr"),
        (lambda: sgdc(0.1, 4, 2, "sum", lags=(1, 4)), "lags"),
        (lambda: heavy_ball(0.1, 1.0), "beta"),
        (lambda: nesterov(0.1, -0.1), "beta"),
        (lambda: gradient_descent(-1.0), "alpha"),
        (lambda: build_algorithm("adam", 0.1), "algorithm"),
        (lambda: build_algorithm("heavy-ball", 0.1), "beta"),
        (lambda: build_algorithm("gd", 0.1, switching=True), "switching"),
        (lambda: build_algorithm("sgdc", 0.1, K=4, topC=2, include_filling=True), "include_filling"),
        (lambda: build_algorithm("sgdc", 0.1, K=4), "topC"),
        (lambda: sgdc_modes(0.1, 30, 10, "sum"), "max_modes"),
    ],
)
def test_invalid_parameters_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()
