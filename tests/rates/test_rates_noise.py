import numpy as np
import pytest

from cgtheory.rates.iqc import iqc_rate
from cgtheory.rates.noise import noisy_bound
from cgtheory.rates.switching import switching_lyapunov_rate
from cgtheory.rates.systems import gradient_descent, sgdc, sgdc_modes

MU, L = 1.0, 10.0


def run_sgdc(alpha, aggr, buffers, gradient, d, steps, sigma2, seeds, rng):
    """SGDC written out from its definition, with an empty buffer read as zeros and N(0, σ²/d I) noise.

    ``buffers`` is a list of lag tuples; each step of each run uses one drawn uniformly.
    Returns the mean over runs of ‖θ_t‖² for t = 0..steps (θ* = 0, ‖θ_0‖ = 1).
    """
    theta = rng.normal(size=(seeds, d))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)
    history = []  # noisy gradients g_{t-1}, g_{t-2}, ...
    means = [np.mean(np.sum(theta**2, axis=1))]
    for _ in range(steps):
        g = gradient(theta) + np.sqrt(sigma2 / d) * rng.normal(size=(seeds, d))
        choice = rng.integers(len(buffers), size=seeds)
        step = np.empty_like(theta)
        for index, lags in enumerate(buffers):
            stored = [history[lag - 1] if lag <= len(history) else np.zeros_like(g) for lag in lags]
            if aggr == "mean":
                update = (g + sum(stored)) / (len(lags) + 1)
            else:
                update = g + sum(stored) / len(lags)
            step[choice == index] = update[choice == index]
        theta = theta - alpha * step
        history.insert(0, g)
        means.append(np.mean(np.sum(theta**2, axis=1)))
    return np.array(means)


def random_hessian(rng, d):
    rotation = np.linalg.qr(rng.normal(size=(d, d)))[0]
    return rotation @ np.diag(rng.uniform(MU, L, size=d)) @ rotation.T


@pytest.mark.parametrize("aggr", ["sum", "mean"])
def test_iqc_bound_holds_on_random_quadratics(aggr):
    rng = np.random.default_rng(11)
    alpha, sigma2, d = 0.04, 0.05, 5
    system = sgdc(alpha, 4, 3, aggr)
    bound = noisy_bound(iqc_rate(system, MU, L), sigma2, initial_direction=system.fixed_point)
    for _ in range(3):
        hessian = random_hessian(rng, d)
        means = run_sgdc(alpha, aggr, [(1, 2, 3)], lambda x: x @ hessian, d, 150, sigma2, 2000, rng)
        assert np.all(means <= bound.values(151, 1.0))


def test_lyapunov_bound_holds_for_switching_buffer():
    rng = np.random.default_rng(12)
    alpha, sigma2, d = 0.04, 0.05, 4
    modes = sgdc_modes(alpha, 5, 2, "sum")
    result = switching_lyapunov_rate(modes, MU, L, pieces=2, refinements=1, tolerance=1e-4)
    bound = noisy_bound(result, sigma2, initial_direction=modes[0].fixed_point)
    buffers = [tuple(m.parameters["lags"]) for m in modes]
    hessian = random_hessian(rng, d)
    means = run_sgdc(alpha, "sum", buffers, lambda x: x @ hessian, d, 150, sigma2, 2000, rng)
    assert np.all(means <= bound.values(151, 1.0))


def test_iqc_bound_holds_on_non_quadratic_function():
    # f(θ) = µ‖θ‖²/2 + (L − µ) Σ log cosh(θ_i) is µ-strongly convex and L-smooth with θ* = 0.
    rng = np.random.default_rng(13)
    alpha, sigma2, d = 0.04, 0.05, 5
    modes = sgdc_modes(alpha, 5, 3, "sum")
    bound = noisy_bound(iqc_rate(modes, MU, L), sigma2, initial_direction=modes[0].fixed_point)
    buffers = [tuple(m.parameters["lags"]) for m in modes]
    means = run_sgdc(alpha, "sum", buffers, lambda x: MU * x + (L - MU) * np.tanh(x), d, 150, sigma2, 2000, rng)
    assert np.all(means <= bound.values(151, 1.0))


def test_gradient_descent_floor_against_exact_second_moment():
    # SGD on f(θ) = ηθ²/2 in one dimension: E r_{t+1}² = (1 − αη)² E r_t² + α²σ² exactly.
    alpha, sigma2 = 0.1, 0.3
    result = iqc_rate(gradient_descent(alpha), MU, L, multipliers=("sector",), tolerance=1e-6)
    bound = noisy_bound(result, sigma2, initial_direction=[1.0])
    for eta in (MU, 5.0, L):
        moment = [1.0]
        for _ in range(200):
            moment.append((1 - alpha * eta) ** 2 * moment[-1] + alpha**2 * sigma2)
        assert np.all(np.array(moment) <= bound.values(201, 1.0) + 1e-12)
    # With the sector IQC alone P is 1×1, so π b = α² and the floor is α²σ²/(1 − ρ²).
    assert bound.floor == pytest.approx(alpha**2 * sigma2 / (1 - result.rate**2), rel=1e-6)


def test_bound_components():
    system = sgdc(0.05, 4, 3, "sum")
    result = iqc_rate(system, MU, L)
    without = noisy_bound(result, 0.0, initial_direction=system.fixed_point)
    assert without.floor == 0.0
    values = without.values(50, 2.0)
    np.testing.assert_allclose(values[1:] / values[:-1], result.rate**2)
    general = noisy_bound(result, 1.0)
    assert general.constant >= without.constant
    assert general.floor > 0


def test_uncertified_result_raises():
    uncertified = iqc_rate(gradient_descent(0.25), MU, L)
    assert not uncertified.certified
    with pytest.raises(ValueError, match="certified"):
        noisy_bound(uncertified, 1.0)
