import numpy as np
import pytest

from cgtheory.bound import theorem1_bound


def test_bound_curve_values():
    bound = theorem1_bound(4, q=0.5, alpha=0.1, K=2, sigma2=3.0, initial_distance_sq=2.0)
    floor = 0.1**2 * 2 * 3.0 / (1 - 0.25)
    assert bound.applies
    assert bound.noise_floor == pytest.approx(floor)
    np.testing.assert_allclose(bound.values, [2.0 + floor, 0.5 + floor, 0.125 + floor, 0.03125 + floor])


def test_bound_without_noise_decays_geometrically():
    bound = theorem1_bound(50, q=0.9, alpha=0.1, K=1, sigma2=0.0, initial_distance_sq=1.0)
    assert bound.noise_floor == 0.0
    np.testing.assert_allclose(bound.values[1:] / bound.values[:-1], 0.81)


@pytest.mark.parametrize("q", [1.0, 1.4])
def test_bound_inapplicable_when_q_ge_one(q):
    bound = theorem1_bound(5, q=q, alpha=0.1, K=3, sigma2=1.0, initial_distance_sq=1.0)
    assert not bound.applies
    assert "no bound" in bound.reason
    assert np.all(np.isinf(bound.values))


def test_bound_at_q_zero():
    bound = theorem1_bound(3, q=0.0, alpha=0.1, K=1, sigma2=1.0, initial_distance_sq=5.0)
    np.testing.assert_allclose(bound.values, [5.0 + 0.01, 0.01, 0.01])


def test_k1_bound_holds_for_sgd_on_a_quadratic():
    # SGD on f(θ) = η θ²/2 with additive Gaussian noise: E r_t² is computable exactly.
    alpha, eta, sigma2, r1 = 0.1, 4.0, 0.5, 3.0
    q = abs(1 - alpha * eta)
    bound = theorem1_bound(60, q=q, alpha=alpha, K=1, sigma2=sigma2, initial_distance_sq=r1**2)
    second_moment = [r1**2]
    for _ in range(59):
        second_moment.append(q**2 * second_moment[-1] + alpha**2 * sigma2)
    assert np.all(np.array(second_moment) <= bound.values + 1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(q=-0.1), "q"),
        (dict(alpha=0.0), "alpha"),
        (dict(K=0), "K"),
        (dict(sigma2=-1.0), "sigma2"),
        (dict(initial_distance_sq=float("nan")), "initial_distance_sq"),
    ],
)
def test_bound_rejects_bad_input(kwargs, message):
    arguments = dict(q=0.5, alpha=0.1, K=1, sigma2=1.0, initial_distance_sq=1.0) | kwargs
    with pytest.raises(ValueError, match=message):
        theorem1_bound(10, **arguments)


def test_bound_rejects_zero_steps():
    with pytest.raises(ValueError, match="steps"):
        theorem1_bound(0, q=0.5, alpha=0.1, K=1, sigma2=1.0, initial_distance_sq=1.0)
