import pytest

pytest.importorskip("PEPit")

from cgtheory.rates.iqc import iqc_rate  # noqa: E402
from cgtheory.rates.noise import noisy_bound  # noqa: E402
from cgtheory.rates.pep import pep_worst_case  # noqa: E402
from cgtheory.rates.systems import filling_modes, gradient_descent, sgdc, sgdc_filling_schedule  # noqa: E402

MU, L = 1.0, 10.0


@pytest.mark.parametrize("alpha", [0.1, 2 / 11, 0.15])
def test_gradient_descent_matches_closed_form(alpha):
    # For gradient descent the N-step worst case of ‖x_N − x*‖² is max(|1 − αµ|, |1 − αL|)^{2N}.
    rate = max(abs(1 - alpha * MU), abs(1 - alpha * L))
    for steps in (1, 3):
        result = pep_worst_case(gradient_descent(alpha), MU, L, steps)
        assert result.status == "optimal"
        assert result.value == pytest.approx(rate ** (2 * steps), rel=1e-6)


@pytest.mark.parametrize("aggr", ["sum", "mean"])
def test_sgdc_worst_case_below_certified_bound(aggr):
    system = sgdc(0.05, 4, 3, aggr)
    certified = iqc_rate(system, MU, L, tolerance=1e-6)
    bound = noisy_bound(certified, 0.0, initial_direction=system.fixed_point)
    for steps in (1, 2, 4, 6):
        result = pep_worst_case(system, MU, L, steps)
        assert result.value <= bound.constant * certified.rate ** (2 * steps) * (1 + 1e-6)


def test_sgdc_growth_rate_approaches_certified_rate():
    system = sgdc(0.05, 4, 3, "sum")
    certified = iqc_rate(system, MU, L, tolerance=1e-6)
    values = {steps: pep_worst_case(system, MU, L, steps).value for steps in (8, 12)}
    growth = (values[12] / values[8]) ** (1 / 8)
    assert growth <= certified.rate + 0.01
    assert growth >= certified.quadratic_lower_bound - 0.01


def test_filling_schedule_covered_by_shared_certificate():
    # An empty buffer whose weights follow the number of stored gradients: the certificate must
    # cover the filling modes as well as the full buffer.
    alpha, K, topC = 0.05, 4, 3
    modes = filling_modes(alpha, K, topC, "mean") + [sgdc(alpha, K, topC, "mean")]
    certified = iqc_rate(modes, MU, L, tolerance=1e-5)
    assert certified.certified
    bound = noisy_bound(certified, 0.0, initial_direction=modes[0].fixed_point)
    for steps in (2, 5):
        result = pep_worst_case(sgdc_filling_schedule(alpha, K, topC, "mean", steps), MU, L)
        assert result.value <= bound.constant * certified.rate ** (2 * steps) * (1 + 1e-6)


def test_missing_steps_raises():
    with pytest.raises(ValueError, match="steps"):
        pep_worst_case(gradient_descent(0.1), MU, L)
    with pytest.raises(ValueError, match="initial_direction"):
        pep_worst_case(sgdc(0.05, 4, 3, "sum"), MU, L, 2, initial_direction=[1.0, 0.0])
