import numpy as np
import pytest
import torch

from cgtheory.problems import make_problem
from cgtheory.simulate import RunSettings, record_steps, simulate


@pytest.fixture(scope="module")
def ridge():
    return make_problem("ridge", "diabetes")


def test_batched_sgd_matches_torch_optim_loop(ridge):
    settings = RunSettings(optimizer="sgd", lr=0.05, steps=40, seeds=3, batch_size=4, seed=7, records=5)
    result = simulate(ridge, settings)

    # Replay the same minibatches with one torch.optim.SGD per seed on the numpy gradients.
    generator = torch.Generator()
    generator.manual_seed(7)
    thetas = [torch.zeros(ridge.record.d, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    optimizers = [torch.optim.SGD([theta], lr=0.05) for theta in thetas]
    for _ in range(40):
        indices = torch.randint(ridge.n, (3, 4), generator=generator)
        for seed, (theta, optimizer) in enumerate(zip(thetas, optimizers)):
            gradient = ridge.batch_gradient(theta.detach().numpy(), indices[seed].numpy())
            theta.grad = torch.as_tensor(gradient)
            optimizer.step()
    expected = np.stack([theta.detach().numpy() for theta in thetas])
    np.testing.assert_allclose(result.theta, expected, rtol=1e-10, atol=1e-12)


def test_recorded_distance_matches_last_iterate(ridge):
    result = simulate(ridge, RunSettings(optimizer="sgdc", lr=0.02, steps=30, seeds=6, records=4))
    distances = ((result.theta - ridge.record.theta_star) ** 2).sum(axis=1)
    assert result.t[-1] == 30
    assert result.distance["mean"][-1] == pytest.approx(distances.mean(), rel=1e-10)
    assert result.distance["q50"][-1] == pytest.approx(np.quantile(distances, 0.5), rel=1e-10)


def test_start_at_optimum_has_zero_initial_error(ridge):
    result = simulate(ridge, RunSettings(optimizer="sgd", lr=0.01, steps=5, seeds=2, start="optimum", records=3))
    assert result.distance["mean"][0] == pytest.approx(0.0, abs=1e-24)
    assert result.loss_gap["mean"][0] == pytest.approx(0.0, abs=1e-15)


def test_ages_recorded_and_bounded_by_steps(ridge):
    result = simulate(ridge, RunSettings(optimizer="sgdc", lr=0.01, steps=50, seeds=4, topC=3, age_every=10, records=3))
    assert sorted(result.ages) == [10, 20, 30, 40, 50]
    for step, ages in result.ages.items():
        assert ages.size == 4 * 3
        assert ages.max() < step
    assert 0 < result.max_age < 50


def test_base_optimizer_records_no_ages(ridge):
    result = simulate(ridge, RunSettings(optimizer="adam", lr=0.01, steps=20, seeds=2, age_every=5, records=3))
    assert result.ages == {}
    assert result.max_age == 0


def test_interrupted_run_keeps_partial_results(ridge):
    class InterruptingBar:
        def __init__(self, **kwargs):
            self.count = 0

        def update(self, n):
            self.count += n
            if self.count == 25:
                raise KeyboardInterrupt

        def close(self):
            pass

    result = simulate(ridge, RunSettings(optimizer="sgd", lr=0.01, steps=100, seeds=2, records=10),
                      progress=InterruptingBar)
    assert result.interrupted
    assert result.completed_steps == 25
    assert result.t[-1] == 25


def test_record_steps_cover_both_ends():
    steps = record_steps(1000, 20)
    assert steps[0] == 0
    assert steps[-1] == 1000
    assert np.all(np.diff(steps) > 0)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("optimizer", "lbfgs", "optimizer"),
        ("lr", 0.0, "lr"),
        ("lr", float("nan"), "lr"),
        ("steps", 0, "steps"),
        ("seeds", 0, "seeds"),
        ("topC", -1, "topC"),
        ("decay", 1.0, "decay"),
        ("aggr", "median", "aggr"),
        ("device", "tpu", "device"),
        ("start", "random", "start"),
    ],
)
def test_settings_reject_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        RunSettings(**{field: value}).validated()


def test_cuda_request_without_cuda_is_rejected(ridge):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="cuda"):
        simulate(ridge, RunSettings(device="cuda", steps=2, seeds=1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(ridge):
    settings = RunSettings(optimizer="sgdc", lr=0.02, steps=30, seeds=4, records=3)
    cpu = simulate(ridge, settings)
    gpu = simulate(ridge, RunSettings(**{**settings.__dict__, "device": "cuda"}))
    assert gpu.distance["mean"][-1] == pytest.approx(cpu.distance["mean"][-1], rel=0.5)
