"""What "Memory Augmented Optimizers for Deep Learning" states about the buffer, pinned on the code.

Each test names the statement it checks. Statements that do not hold as
written are pinned in the form that does hold, with the counterexample.
"""

import math

import pytest
import torch

from cgtheory.optim import SGDC, BatchedCriticalBuffer


def unit(i, d=3, scale=1.0):
    g = torch.zeros(1, d, dtype=torch.float64)
    g[0, i] = scale
    return g


def stored_origins(buffer, origins, step):
    """Return the sorted labels of the stored gradients, from their ages."""
    return sorted(origins[step - age] for age in buffer.ages()[0].tolist() if age >= 0)


# Eq. 2, Eq. 3 and Appendix F.1: mean scales g_t by 1/(topC + 1), sum does not scale it.
@pytest.mark.parametrize("aggr,coefficient", [("mean", lambda n: 1 / (n + 1)), ("sum", lambda n: 1.0)])
def test_weight_of_current_gradient(aggr, coefficient):
    topC = 4
    buffer = BatchedCriticalBuffer(1, 2, topC, 0.5, aggr, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    probe = torch.tensor([[1.0, -2.0]], dtype=torch.float64)
    for n in range(topC + 3):
        stored = min(n, topC)
        weight = buffer.aggregate(probe) - buffer.aggregate(torch.zeros_like(probe))
        torch.testing.assert_close(weight, coefficient(stored) * probe, rtol=1e-14, atol=1e-14)
        buffer.step(torch.randn(1, 2, generator=gen, dtype=torch.float64))
    # Once full, mean weighs g_t by exactly 1/(topC + 1), as F.1 states. While
    # the buffer fills, the weight is 1/(n + 1) for the n entries stored so far.
    assert coefficient(topC) == pytest.approx(1 / (topC + 1) if aggr == "mean" else 1.0)


@pytest.mark.parametrize("aggr", ["mean", "sum"])
def test_aggregation_equations(aggr):
    buffer = BatchedCriticalBuffer(1, 2, 3, 0.5, aggr, dtype=torch.float64)
    stored = [[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]]
    for g in stored:
        buffer.step(torch.tensor([g], dtype=torch.float64))
    g_t = [0.5, -1.0]
    total = [sum(g[i] for g in stored) for i in range(2)]
    if aggr == "mean":
        expected = [(g_t[i] + total[i]) / 4 for i in range(2)]
    else:
        expected = [g_t[i] + total[i] / 3 for i in range(2)]
    assert buffer.aggregate(torch.tensor([g_t], dtype=torch.float64))[0].tolist() == pytest.approx(expected)


# Section 6: "Setting decay = 0 ... making the C variants behave like an
# average over a moving window of length topC."
@pytest.mark.parametrize("topC", [1, 3, 7])
def test_decay_zero_is_moving_window(topC):
    buffer = BatchedCriticalBuffer(1, 4, topC, 0.0, "mean", dtype=torch.float64)
    gen = torch.Generator().manual_seed(topC)
    history = []
    for _ in range(25):
        g = torch.randn(1, 4, generator=gen, dtype=torch.float64) * math.exp(3 * torch.rand(1, generator=gen).item())
        window = history[-topC:]
        expected = (g + sum(window)) / (len(window) + 1) if window else g
        torch.testing.assert_close(buffer.step(g), expected, rtol=1e-13, atol=1e-13)
        history.append(g)
        newest_first = torch.cat(history[-topC:][::-1])
        assert torch.equal(buffer.snapshot().gradients[0, : len(newest_first)], newest_first)


def test_decay_zero_sgdc_is_window_average():
    topC, lr = 3, 0.1
    param = torch.nn.Parameter(torch.tensor([1.0, -1.0], dtype=torch.float64))
    optimizer = SGDC([param], lr=lr, topC=topC, decay=0.0, aggr="mean")
    theta = param.detach().clone()
    past = []
    curvature = torch.tensor([1.0, 4.0], dtype=torch.float64)
    for _ in range(12):
        param.grad = curvature * param.detach()
        optimizer.step()
        g = curvature * theta
        window = [g] + past[-topC:]
        theta = theta - lr * sum(window) / len(window)
        past.append(g)
    torch.testing.assert_close(param.detach(), theta, rtol=1e-13, atol=1e-15)


# Section 6: "when topC is the size of the dataset, the optimizer becomes
# SAG-like". SAG keeps exactly one gradient per example, but the buffer keeps
# the topC gradients of largest decayed norm, whichever examples they come from.
def test_topc_dataset_size_is_not_sag_memory():
    gradients = {0: unit(0, scale=10.0), 1: unit(1), 2: unit(2)}
    buffer = BatchedCriticalBuffer(1, 3, 3, 0.9, "mean", dtype=torch.float64)
    origins = []
    for t in range(30):
        example = t % 3
        origins.append(example)
        buffer.step(gradients[example])
        if t == 2:
            assert stored_origins(buffer, origins, t) == [0, 1, 2]
    # From step 7 on the large-norm example owns all three slots.
    assert stored_origins(buffer, origins, 29) == [0, 0, 0]


def test_decay_zero_cyclic_keeps_every_example():
    # The one case where the memory is SAG's: decay = 0 and a fixed cyclic order.
    gradients = {0: unit(0, scale=10.0), 1: unit(1), 2: unit(2)}
    buffer = BatchedCriticalBuffer(1, 3, 3, 0.0, "mean", dtype=torch.float64)
    origins = []
    for t in range(30):
        origins.append(t % 3)
        buffer.step(gradients[t % 3])
        if t >= 2:
            assert stored_origins(buffer, origins, t) == [0, 1, 2]


# Section 6: "topC is directly proportional to the staleness of the gradients".
@pytest.mark.parametrize("topC", [1, 2, 5, 10])
def test_window_ages_grow_with_topc(topC):
    # With decay = 0 the steady-state ages are exactly 0, ..., topC - 1: the
    # mean age (topC - 1)/2 grows linearly with topC but is not proportional to it.
    buffer = BatchedCriticalBuffer(1, 2, topC, 0.0, "mean", dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    for _ in range(3 * topC + 5):
        buffer.step(torch.randn(1, 2, generator=gen, dtype=torch.float64))
    assert buffer.ages()[0].tolist() == list(range(topC))
    assert buffer.max_age.item() == topC - 1


def mean_age(topC, decay, seed=0, S=32, steps=300, warmup=100):
    buffer = BatchedCriticalBuffer(S, 6, topC, decay, "mean", dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    ages = []
    for t in range(steps):
        buffer.step(torch.randn(S, 6, generator=gen, dtype=torch.float64))
        if t >= warmup:
            current = buffer.ages()
            ages.append(current[current >= 0].double().mean().item())
    return sum(ages) / len(ages)


def test_staleness_increases_with_topc_and_decay():
    # Figure 4's caption: 0.99 keeps stale gradients, 0.7 replaces them often,
    # and the staleness grows with topC.
    by_topc = [mean_age(topC, 0.9) for topC in (3, 6, 12)]
    assert by_topc[0] < by_topc[1] < by_topc[2]
    by_decay = [mean_age(6, decay) for decay in (0.7, 0.9, 0.99)]
    assert by_decay[0] < by_decay[1] < by_decay[2]


# Section 2: "only the proxy-norm ... is decayed ..., while the gradient itself
# is not affected".
def test_only_priority_decays():
    decay = 0.7
    buffer = BatchedCriticalBuffer(1, 5, 3, decay, "mean", dtype=torch.float64)
    first = torch.randn(1, 5, dtype=torch.float64) * 100
    buffer.step(first)
    gen = torch.Generator().manual_seed(1)
    for _ in range(6):
        buffer.step(torch.randn(1, 5, generator=gen, dtype=torch.float64) * 0.01)
    snapshot = buffer.snapshot()
    oldest = int(snapshot.count[0]) - 1
    assert torch.equal(snapshot.gradients[0, oldest], first[0])
    assert snapshot.norms[0, oldest].item() == pytest.approx(first.norm().item(), rel=1e-14)
    for k in range(int(snapshot.count[0])):
        expected = snapshot.norms[0, k].item() * decay ** (snapshot.ages[0, k].item() + 1)
        assert snapshot.priorities[0, k].item() == pytest.approx(expected, rel=1e-12)


# Section 2: "The multiplicative decay factor ensures that the buffer is
# frequently refreshed". Section 3 needs staleness bounded by some K.
def test_staleness_unbounded_under_fast_shrinking():
    # Gradient descent on f(θ) = ½θ², step 0.5: ‖g_t‖ halves each step, faster
    # than decay = 0.7 shrinks the priorities, so nothing enters after the buffer fills.
    topC, steps = 3, 60
    buffer = BatchedCriticalBuffer(1, 1, topC, 0.7, "sum", dtype=torch.float64)
    theta = torch.ones(1, 1, dtype=torch.float64)
    for _ in range(steps):
        buffer.step(theta.clone())
        theta = theta - 0.5 * theta
    assert buffer.ages()[0].tolist() == [steps - 3, steps - 2, steps - 1]
    assert buffer.max_age.item() == steps - 1


@pytest.mark.parametrize("topC,decay,ratio", [(2, 0.7, 4.0), (5, 0.9, 20.0), (3, 0.5, 1.0), (4, 0.0, 50.0)])
def test_staleness_bounded_when_norms_bounded(topC, decay, ratio):
    # If every ‖g_t‖ lies in [m, M] with m > 0, no entry's age exceeds
    # floor(ln(M/m) / ln(1/decay)) + topC - 1 (derived in cgtheory.checks.mechanism).
    S, steps = 256, 300
    spread = math.log(ratio) / math.log(1 / decay) if decay > 0 else 0.0
    bound = math.floor(spread) + topC - 1
    gen = torch.Generator().manual_seed(topC)
    buffer = BatchedCriticalBuffer(S, 3, topC, decay, "mean", dtype=torch.float64)
    for t in range(steps):
        direction = torch.randn(S, 3, generator=gen, dtype=torch.float64)
        direction /= direction.norm(dim=1, keepdim=True)
        # Norms in [1, ratio], with long stretches at the minimum to stress the bound.
        high = torch.rand(S, 1, generator=gen, dtype=torch.float64) < 0.1
        buffer.step(direction * torch.where(high, ratio, 1.0))
    assert buffer.max_age.max().item() <= bound
