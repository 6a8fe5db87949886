import math

import pytest

from cgtheory.rates.analysis import certified_step_sizes, compute_rate, stable_step_sizes
from cgtheory.rates.systems import gradient_descent, heavy_ball, nesterov, sgdc, sgdc_modes

MU, L = 1.0, 10.0


def test_stable_step_sizes_gradient_descent():
    [(low, high)] = stable_step_sizes(lambda alpha: [gradient_descent(alpha)], MU, L)
    assert low == 0.0
    assert high == pytest.approx(2 / L, rel=1e-10)


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.8])
def test_stable_step_sizes_heavy_ball(beta):
    # z² − (1 + β − αη) z + β is Schur stable for β ∈ [0, 1) exactly when 0 < αη < 2(1 + β).
    [(low, high)] = stable_step_sizes(lambda alpha: [heavy_ball(alpha, beta)], MU, L)
    assert high == pytest.approx(2 * (1 + beta) / L, rel=1e-9)


def test_stable_step_sizes_nesterov():
    # z² − (1 + β)(1 − αη) z + β(1 − αη): with c = 1 − αη, stability needs c > −1/(1 + 2β).
    beta = 0.5
    [(low, high)] = stable_step_sizes(lambda alpha: [nesterov(alpha, beta)], MU, L)
    assert high == pytest.approx((1 + 1 / (1 + 2 * beta)) / L, rel=1e-9)


def test_certified_region_inside_stable_region():
    build = lambda alpha: [sgdc(alpha, 6, 5, "mean")]  # noqa: E731
    stable = stable_step_sizes(build, MU, L)
    region = certified_step_sizes("spectral", build, MU, L, grid_points=80)
    assert region.intervals
    for low, high in region.intervals:
        assert any(s_low <= low + 1e-12 and high <= s_high + 1e-9 for s_low, s_high in stable)
    assert region.best_rate < 1


def test_switching_stable_region_is_intersection():
    modes = lambda alpha: sgdc_modes(alpha, 5, 2, "sum")  # noqa: E731
    joint = stable_step_sizes(modes, MU, L)
    for lags in [(1, 2), (3, 4)]:
        single = stable_step_sizes(lambda alpha, lags=lags: [sgdc(alpha, 5, 2, "sum", lags)], MU, L)
        assert joint[-1][1] <= single[-1][1] + 1e-12


def test_compute_rate_reports_function_class():
    report = compute_rate("spectral", [gradient_descent(0.1)], MU, L)
    assert report.function_class == "quadratics"
    assert report.rate == pytest.approx(0.9, abs=1e-9)
    report = compute_rate("iqc", [gradient_descent(0.1)], MU, L)
    assert report.function_class == "smooth strongly convex"
    assert report.certified
    assert math.isnan(compute_rate("pep", [gradient_descent(0.1)], MU, L, steps=2).lower)


def test_compute_rate_rejects_unknown_method():
    with pytest.raises(ValueError, match="method"):
        compute_rate("newton", [gradient_descent(0.1)], MU, L)
