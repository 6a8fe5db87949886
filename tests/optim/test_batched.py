"""S runs in one tensor program against S separate torch.optim-based optimizers."""

import pytest
import torch

from cgtheory.optim import (
    SGDC,
    SGDMC,
    AdamC,
    BatchedCriticalBuffer,
    BatchedCriticalOptimizer,
    RMSpropC,
    batched_sgd_step,
)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


class NoisyRidge:
    """S ridge problems: g_s(θ) = A_s θ - b_s + ξ_{s,t}, with the noise drawn in advance."""

    def __init__(self, S, d, steps, seed=0):
        gen = torch.Generator().manual_seed(seed)
        M = torch.randn(S, d, d, generator=gen, dtype=torch.float64)
        self.A = M @ M.transpose(1, 2) / d + 0.1 * torch.eye(d, dtype=torch.float64)
        self.b = torch.randn(S, d, generator=gen, dtype=torch.float64)
        # Noise scales vary by step so that norms spread and the buffer keeps changing.
        scale = torch.exp(2 * torch.rand(steps, S, 1, generator=gen, dtype=torch.float64))
        self.noise = scale * torch.randn(steps, S, d, generator=gen, dtype=torch.float64)

    def batched_gradient(self, theta, t):
        return (self.A @ theta.unsqueeze(-1)).squeeze(-1) - self.b + self.noise[t]

    def gradient(self, s, theta, t):
        return self.A[s] @ theta - self.b[s] + self.noise[t, s]


RULES = [
    ("sgd", SGDC, {"lr": 0.05}, {}),
    ("sgd", SGDC, {"lr": 0.05, "weight_decay": 0.1}, {"aggr": "mean"}),
    ("momentum", SGDMC, {"lr": 0.02, "momentum": 0.9, "nesterov": True}, {}),
    ("momentum", SGDMC, {"lr": 0.02, "momentum": 0.8, "dampening": 0.2}, {"selection": "bottomC"}),
    ("rmsprop", RMSpropC, {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True}, {}),
    ("rmsprop", RMSpropC, {"lr": 0.01}, {"selection": "fifo", "aggr": "max_norm"}),
    ("adam", AdamC, {"lr": 0.01, "betas": (0.8, 0.99), "amsgrad": True}, {}),
    ("adam", AdamC, {"lr": 0.01, "weight_decay": 0.05, "maximize": False}, {"aggr": "median_norm"}),
]


@pytest.mark.parametrize("rule,single_class,hyperparameters,memory", RULES)
def test_batched_equals_separate_optimizers(rule, single_class, hyperparameters, memory):
    S, d, steps = 4, 5, 40
    problem = NoisyRidge(S, d, steps)
    memory = {"topC": 3, "decay": 0.8, **memory}

    theta = torch.zeros(S, d, dtype=torch.float64)
    batched = BatchedCriticalOptimizer(rule, S, d, dtype=torch.float64, **memory, **hyperparameters)
    for t in range(steps):
        batched.step(theta, problem.batched_gradient(theta, t))

    for s in range(S):
        param = torch.nn.Parameter(torch.zeros(d, dtype=torch.float64))
        optimizer = single_class([param], **hyperparameters, **memory)
        for t in range(steps):
            param.grad = problem.gradient(s, param.detach(), t)
            optimizer.step()
        torch.testing.assert_close(theta[s], param.detach(), rtol=1e-10, atol=1e-12)
        assert batched.buffer.ages()[s, : len(optimizer.ages())].tolist() == optimizer.ages().tolist()
        assert int(batched.buffer.max_age[s]) == optimizer.max_age


def test_per_run_learning_rates():
    S, d, steps = 3, 4, 20
    problem = NoisyRidge(S, d, steps, seed=3)
    rates = torch.tensor([0.01, 0.05, 0.1], dtype=torch.float64)
    theta = torch.zeros(S, d, dtype=torch.float64)
    batched = BatchedCriticalOptimizer("adam", S, d, dtype=torch.float64, lr=rates)
    for t in range(steps):
        batched.step(theta, problem.batched_gradient(theta, t))
    for s in range(S):
        param = torch.nn.Parameter(torch.zeros(d, dtype=torch.float64))
        optimizer = AdamC([param], lr=float(rates[s]))
        for t in range(steps):
            param.grad = problem.gradient(s, param.detach(), t)
            optimizer.step()
        torch.testing.assert_close(theta[s], param.detach(), rtol=1e-10, atol=1e-12)


def test_sgd_step_formula():
    theta = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    update = torch.tensor([[0.5, -0.5], [1.0, 0.0]], dtype=torch.float64)
    batched_sgd_step(theta, update, lr=0.1, weight_decay=0.2)
    expected = torch.tensor([[1.0 - 0.1 * (0.5 + 0.2), 2.0 - 0.1 * (-0.5 + 0.4)],
                             [3.0 - 0.1 * (1.0 + 0.6), 4.0 - 0.1 * 0.8]], dtype=torch.float64)
    torch.testing.assert_close(theta, expected)


def test_optimizer_buffer_has_one_run():
    param = torch.nn.Parameter(torch.zeros(3))
    optimizer = SGDC([param], topC=4)
    assert isinstance(optimizer.buffer, BatchedCriticalBuffer)
    assert optimizer.buffer.slots.shape == (1, 5, 3)


def test_random_policy_paths_agree():
    d, steps = 4, 30
    problem = NoisyRidge(1, d, steps, seed=8)
    memory = {"topC": 3, "decay": 0.7, "selection": "coin_toss", "replacement": "ncpr"}
    theta = torch.zeros(1, d, dtype=torch.float64)
    batched = BatchedCriticalOptimizer(
        "sgd", 1, d, dtype=torch.float64, generator=torch.Generator().manual_seed(1), lr=0.05, **memory
    )
    batched.buffer._host_indexing = False
    for t in range(steps):
        batched.step(theta, problem.batched_gradient(theta, t))

    param = torch.nn.Parameter(torch.zeros(d, dtype=torch.float64))
    optimizer = SGDC([param], lr=0.05, generator=torch.Generator().manual_seed(1), **memory)
    for t in range(steps):
        param.grad = problem.gradient(0, param.detach(), t)
        optimizer.step()
    torch.testing.assert_close(theta[0], param.detach(), rtol=1e-10, atol=1e-12)
    assert batched.buffer.ages()[0, : len(optimizer.ages())].tolist() == optimizer.ages().tolist()


def test_invalid_rule_raises():
    with pytest.raises(ValueError, match="rule='lbfgs'"):
        BatchedCriticalOptimizer("lbfgs", 2, 2)


@cuda
def test_cuda_batched_matches_cpu():
    S, d, steps = 64, 6, 30
    problem = NoisyRidge(S, d, steps, seed=4)
    results = {}
    for device in ("cpu", "cuda"):
        theta = torch.zeros(S, d, dtype=torch.float64, device=device)
        batched = BatchedCriticalOptimizer("momentum", S, d, dtype=torch.float64, device=device, lr=0.02)
        A, b, noise = problem.A.to(device), problem.b.to(device), problem.noise.to(device)
        for t in range(steps):
            batched.step(theta, (A @ theta.unsqueeze(-1)).squeeze(-1) - b + noise[t])
        results[device] = (theta.cpu(), batched.buffer.ages().cpu())
    torch.testing.assert_close(results["cuda"][0], results["cpu"][0], rtol=1e-9, atol=1e-10)
    assert torch.equal(results["cuda"][1], results["cpu"][1])
