import pytest

from cgtheory.stepsizes import admissible_step_sizes, theorem1_step_sizes


def test_k1_interval_is_gradient_descent_range():
    region = theorem1_step_sizes(1, 1.0, 10.0)
    assert len(region.intervals) == 1
    low, high = region.intervals[0]
    assert low == 0.0
    assert high == pytest.approx(2.0 / 10.0, abs=1e-9)
    assert region.best_alpha == pytest.approx(2.0 / 11.0, abs=1e-6)
    assert region.best_rate == pytest.approx(9.0 / 11.0, abs=1e-9)


@pytest.mark.parametrize("K", [2, 3, 6, 21])
@pytest.mark.parametrize("form", ["companion", "printed"])
def test_memory_has_no_admissible_step(K, form):
    region = theorem1_step_sizes(K, 0.1, 10.0, form, grid_points=501)
    assert region.intervals == []
    assert region.best_rate >= 1.0


def test_finds_several_intervals():
    # rate < 1 on (1, 2) and (3, 4): a synthetic rate with two dips.
    def rate(alpha):
        return 0.5 if (1 < alpha < 2 or 3 < alpha < 4) else 1.5

    def smooth(alpha):
        return 1.0 + 0.5 * ((alpha - 1.5) ** 2 - 0.25) * ((alpha - 3.5) ** 2 - 0.25)

    region = admissible_step_sizes(smooth, 5.0, grid_points=2001, tolerance=1e-12)
    assert len(region.intervals) == 2
    for (low, high), (a, b) in zip(region.intervals, [(1.0, 2.0), (3.0, 4.0)]):
        assert low == pytest.approx(a, abs=1e-9)
        assert high == pytest.approx(b, abs=1e-9)
    assert rate(region.best_alpha) == 0.5


def test_interval_reaching_alpha_max_is_closed_there():
    region = admissible_step_sizes(lambda alpha: 2.0 - alpha, 3.0, grid_points=301)
    assert region.intervals[-1][0] == pytest.approx(1.0, abs=1e-9)
    assert region.intervals[-1][1] == pytest.approx(3.0)


@pytest.mark.parametrize("K, mu, L, message", [(0, 1.0, 2.0, "K"), (2, 3.0, 2.0, "mu"), (2, 1.0, float("nan"), "L")])
def test_theorem1_step_sizes_rejects_bad_input(K, mu, L, message):
    with pytest.raises(ValueError, match=message):
        theorem1_step_sizes(K, mu, L)
