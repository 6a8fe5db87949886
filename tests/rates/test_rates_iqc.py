import math

import numpy as np
import pytest

from cgtheory.rates.iqc import augment, iqc_rate
from cgtheory.rates.sdp import verify_blocks
from cgtheory.rates.spectral import worst_case_spectral_radius
from cgtheory.rates.systems import gradient_descent, gradient_memory, heavy_ball, nesterov, sgdc, sgdc_modes


def classical_heavy_ball(mu, L):
    kappa = L / mu
    return heavy_ball(4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2)


def standard_nesterov(mu, L):
    kappa = L / mu
    return nesterov(1 / L, (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1))


@pytest.mark.parametrize(
    "alpha, expected",
    [(0.1, 0.9), (2 / 11, 9 / 11)],
)
def test_gradient_descent_tight_rates(alpha, expected):
    # Gradient descent on L = 10, µ = 1: max(|1 − αµ|, |1 − αL|) is tight for the whole class.
    result = iqc_rate(gradient_descent(alpha), 1.0, 10.0, tolerance=1e-6)
    assert result.certified
    assert expected - 1e-9 <= result.rate <= expected + 2e-6
    sector_only = iqc_rate(gradient_descent(alpha), 1.0, 10.0, multipliers=("sector",), tolerance=1e-6)
    assert sector_only.rate <= expected + 2e-6


@pytest.mark.parametrize("kappa", [10.0, 100.0])
def test_nesterov_standard_tuning(kappa):
    # With α = 1/L and β = (√κ − 1)/(√κ + 1), the quadratic worst case 1 − 1/√κ bounds any rate from
    # below, and the off-by-one IQC certifies a rate below √(1 − 1/√κ), the iterate rate that Nesterov's
    # function-value bound f(x_t) − f* <= c (1 − 1/√κ)^t implies. The sector IQC alone certifies less.
    result = iqc_rate(standard_nesterov(1.0, kappa), 1.0, kappa, tolerance=1e-5)
    assert result.certified
    assert 1 - 1 / math.sqrt(kappa) - 1e-7 <= result.rate < math.sqrt(1 - 1 / math.sqrt(kappa))
    sector_only = iqc_rate(standard_nesterov(1.0, kappa), 1.0, kappa, multipliers=("sector",), tolerance=1e-5)
    assert sector_only.rate > result.rate


def test_heavy_ball_not_certified_at_kappa_25():
    # On the piecewise quadratic f below (µ = 1, L = 25, f'' ∈ {1, 25}) the classically tuned heavy ball
    # cycles (checked below), so no certificate can exist, although its quadratic rate
    # (√κ − 1)/(√κ + 1) = 2/3 is well below 1.
    mu, L = 1.0, 25.0
    system = classical_heavy_ball(mu, L)
    result = iqc_rate(system, mu, L)
    assert not result.certified
    assert math.isinf(result.rate)
    assert result.quadratic_lower_bound == pytest.approx(2 / 3, abs=1e-7)

    def gradient(x):
        if x < 1:
            return 25 * x
        if x < 2:
            return x + 24
        return 25 * x - 24

    alpha, beta = system.parameters["alpha"], system.parameters["beta"]
    previous = current = 3.3
    for _ in range(600):
        previous, current = current, current - alpha * gradient(current) + beta * (current - previous)
    assert abs(current) > 0.5  # still on the cycle, far from the minimizer 0


def test_heavy_ball_not_certified_at_kappa_100():
    result = iqc_rate(classical_heavy_ball(1.0, 100.0), 1.0, 100.0)
    assert not result.certified


@pytest.mark.parametrize(
    "system",
    [
        gradient_descent(0.15),
        heavy_ball(0.1, 0.3),
        standard_nesterov(1.0, 10.0),
        sgdc(0.05, 6, 5, "sum"),
        sgdc(0.05, 6, 5, "mean"),
        sgdc(0.03, 5, 2, "sum", lags=(2, 4)),
    ],
    ids=lambda s: s.name,
)
def test_spectral_rate_never_exceeds_iqc_rate(system):
    quadratic = worst_case_spectral_radius(system, 1.0, 10.0)
    result = iqc_rate(system, 1.0, 10.0, tolerance=1e-5)
    assert result.certified
    assert quadratic.lower <= result.rate + 1e-9


def test_certificate_passes_independent_check():
    system = sgdc(0.05, 4, 3, "sum")
    result = iqc_rate(system, 1.0, 10.0, tolerance=1e-5)
    certificate = result.certificate
    (P,) = certificate.P
    rho = certificate.rho
    lam_s, lam_o = certificate.multipliers["sector"], certificate.multipliers["off-by-one"]
    assert lam_s >= 0
    assert lam_o >= 0
    assert np.linalg.eigvalsh(P)[0] > 0

    # Rebuild the LMI from the definitions of p, q and ζ, without the library's matrices.
    mu, L = 1.0, 10.0
    A, B, C = system.A, system.B, system.C
    n = system.order
    A_hat = np.block([[A, np.zeros((n, 1))], [L * C, np.zeros((1, 1))]])
    B_hat = np.vstack([B, [[-1.0]]])
    G = np.hstack([A_hat, B_hat])
    q = np.concatenate([L * C[0], [0.0, -1.0]])
    p = np.concatenate([-mu * C[0], [0.0, 1.0]])
    zeta = np.zeros(n + 2)
    zeta[n] = 1.0
    E = np.zeros((n + 2, n + 2))
    E[: n + 1, : n + 1] = P
    X = (
        G.T @ P @ G
        - rho**2 * E
        + lam_s * (np.outer(p, q) + np.outer(q, p))
        + lam_o * (np.outer(p, q - rho**2 * zeta) + np.outer(q - rho**2 * zeta, p))
    )
    assert np.linalg.eigvalsh(X)[-1] < 0
    assert certificate.verification.passed


def test_tampered_certificate_fails_verification():
    result = iqc_rate(sgdc(0.05, 4, 3, "sum"), 1.0, 10.0)
    (P,) = result.certificate.P
    blocks = [(np.diag([1.0, -1.0]), 1.0)]
    assert not verify_blocks([P], blocks, np.array([1.0])).passed
    assert not verify_blocks([-P], [(-np.eye(2), 1.0)], np.array([1.0])).passed
    assert not verify_blocks([P], [(-np.eye(2), 1.0)], np.array([-1.0])).passed


def test_verification_figures_reported():
    result = iqc_rate(standard_nesterov(1.0, 10.0), 1.0, 10.0)
    figures = result.figures()
    assert figures["certified"] is True
    assert figures["min_eig_P"] > 0
    assert figures["max_eig_lmi"] <= -figures["lmi_margin_required"]
    assert figures["status"] in ("optimal", "optimal_inaccurate")
    assert figures["solver"] == "CLARABEL"
    assert all(a.solve_time >= 0 for a in result.attempts)


def test_switching_certificate_covers_every_mode():
    modes = sgdc_modes(0.03, 5, 2, "sum")
    shared = iqc_rate(modes, 1.0, 10.0, tolerance=1e-4)
    assert shared.certified and shared.rate < 1
    for mode in modes:
        single = iqc_rate(mode, 1.0, 10.0, tolerance=1e-4)
        assert single.rate <= shared.rate + 1e-4


def test_augment_noise_input_and_iterate():
    mode = augment(sgdc(0.1, 3, 2, "mean"), 1.0, 10.0)
    np.testing.assert_allclose(mode.noise_input, [-0.1 / 3, 0.1, 0.0, 0.0])
    np.testing.assert_allclose(mode.iterate, [1.0, 0.0, 0.0, 0.0])


def test_scs_solver_certifies_gradient_descent():
    result = iqc_rate(gradient_descent(0.1), 1.0, 10.0, solver="SCS", tolerance=1e-3)
    assert result.solver == "SCS"
    assert result.certified
    assert 0.9 - 1e-9 <= result.rate <= 0.9 + 2e-3
    assert result.certificate.verification.passed


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(multipliers=("circle",)), "multipliers"),
        (dict(rho_max=1.5), "rho_max"),
        (dict(solver="MOSEK"), "MOSEK"),
        (dict(solver="GUROBI"), "solver"),
        (dict(tolerance=0.0), "tolerance"),
    ],
)
def test_invalid_arguments_raise(kwargs, message):
    pytest.importorskip("cvxpy")
    try:
        import mosek  # noqa: F401

        if kwargs.get("solver") == "MOSEK":
            pytest.skip("MOSEK is installed")
    except ImportError:
        pass
    with pytest.raises(ValueError, match=message):
        iqc_rate(gradient_memory(0.1, [1.0, 0.5]), 1.0, 10.0, **kwargs)
