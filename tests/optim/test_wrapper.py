"""CriticalGradients and SGDC, SGDMC, RMSpropC, AdamC as torch.optim optimizers."""

import copy
import inspect
import io
import math

import pytest
import torch

from cgtheory.optim import SGDC, SGDMC, AdamC, CriticalGradients, RMSpropC

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def small_model(seed=0, dtype=torch.float32, device="cpu"):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2))
    return model.to(device=device, dtype=dtype)


def batches(count, seed=1, dtype=torch.float32, device="cpu"):
    gen = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(8, 4, generator=gen).to(device, dtype), torch.randn(8, 2, generator=gen).to(device, dtype))
        for _ in range(count)
    ]


def loss_of(model, batch):
    x, y = batch
    return ((model(x) - y) ** 2).mean()


def train(model, optimizer, data):
    for batch in data:
        optimizer.zero_grad()
        loss_of(model, batch).backward()
        optimizer.step()


def flat_grad(model):
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()])


def flat_params(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


class WindowSum:
    """Reference of Algorithm 1 with sum aggregation, for decay = 0: the last topC gradients."""

    def __init__(self, topC):
        self.topC = topC
        self.window = []

    def aggregate_and_store(self, g):
        aggregate = g if not self.window else g + sum(self.window) / len(self.window)
        self.window.append(g.clone())
        self.window = self.window[-self.topC :]
        return aggregate


BASES = [
    (SGDC, torch.optim.SGD, {"lr": 0.05}),
    (SGDC, torch.optim.SGD, {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    (SGDMC, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "dampening": 0.1}),
    (RMSpropC, torch.optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    (AdamC, torch.optim.Adam, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    (AdamC, torch.optim.Adam, {"lr": 0.01, "maximize": True, "decoupled_weight_decay": True, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("critical_class,torch_class,kwargs", BASES)
def test_topc_zero_equals_torch_optimizer(critical_class, torch_class, kwargs):
    data = batches(12)
    expected_model, model = small_model(), small_model()
    train(expected_model, torch_class(expected_model.parameters(), **kwargs), data)
    train(model, critical_class(model.parameters(), topC=0, **kwargs), data)
    assert torch.equal(flat_params(model), flat_params(expected_model))


@pytest.mark.parametrize("foreach", [False, True])
def test_wrapper_steps_base_on_aggregate(foreach):
    # Algorithm 1: the base optimizer O receives aggr(g_t, g_c). With decay = 0
    # the buffer is the last topC gradients, so a list reference gives aggr.
    data = batches(10)
    model, reference_model = small_model(), small_model()
    optimizer = CriticalGradients(
        torch.optim.Adagrad(model.parameters(), lr=0.1, foreach=foreach), topC=3, decay=0.0, aggr="sum"
    )
    reference_optimizer = torch.optim.Adagrad(reference_model.parameters(), lr=0.1, foreach=foreach)
    window = WindowSum(3)
    for batch in data:
        optimizer.zero_grad()
        loss_of(model, batch).backward()
        optimizer.step()

        reference_optimizer.zero_grad()
        loss_of(reference_model, batch).backward()
        aggregate = window.aggregate_and_store(flat_grad(reference_model))
        for p, part in zip(reference_model.parameters(), aggregate.split([p.numel() for p in reference_model.parameters()])):
            p.grad = part.view_as(p).clone()
        reference_optimizer.step()
    torch.testing.assert_close(flat_params(model), flat_params(reference_model), rtol=1e-6, atol=1e-7)


def test_weight_decay_acts_on_aggregate():
    model = small_model()
    optimizer = SGDC(model.parameters(), lr=0.1, weight_decay=0.5, topC=2, decay=0.0)
    window = WindowSum(2)
    for batch in batches(4):
        optimizer.zero_grad()
        loss_of(model, batch).backward()
        before = flat_params(model).clone()
        aggregate = window.aggregate_and_store(flat_grad(model))
        optimizer.step()
        torch.testing.assert_close(flat_params(model), before - 0.1 * (aggregate + 0.5 * before))


def test_user_gradients_unchanged_after_step():
    model = small_model()
    optimizer = AdamC(model.parameters(), topC=2)
    for batch in batches(4):
        optimizer.zero_grad()
        loss_of(model, batch).backward()
        grads = [p.grad for p in model.parameters()]
        values = [g.clone() for g in grads]
        optimizer.step()
        for p, grad, value in zip(model.parameters(), grads, values):
            assert p.grad is grad
            assert torch.equal(p.grad, value)


def test_buffer_covers_every_param_group():
    model = small_model()
    first, second = list(model[0].parameters()), list(model[2].parameters())
    optimizer = SGDC([{"params": first}, {"params": second, "lr": 0.5}], lr=0.01, topC=2)
    loss_of(model, batches(1)[0]).backward()
    g = torch.cat([p.grad.reshape(-1) for p in first + second])
    optimizer.step()
    snapshot = optimizer.snapshot()
    assert snapshot.gradients.shape == (1, 2, g.numel())
    assert torch.equal(snapshot.gradients[0, 0], g)
    assert snapshot.norms[0, 0].item() == pytest.approx(g.double().norm().item(), rel=1e-6)


def test_closure_is_evaluated_once_and_returned():
    model = small_model()
    optimizer = SGDC(model.parameters(), lr=0.1, topC=2)
    calls = []
    batch = batches(1)[0]

    def closure():
        calls.append(1)
        optimizer.zero_grad()
        loss = loss_of(model, batch)
        loss.backward()
        return loss

    reference_model = small_model()
    reference = SGDC(reference_model.parameters(), lr=0.1, topC=2)
    reference.zero_grad()
    expected_loss = loss_of(reference_model, batch)
    expected_loss.backward()
    reference.step()

    loss = optimizer.step(closure)
    assert len(calls) == 1
    assert loss.item() == expected_loss.item()
    assert torch.equal(flat_params(model), flat_params(reference_model))


def test_lr_scheduler_drives_base_optimizer():
    data = batches(6)
    model, reference_model = small_model(), small_model()
    optimizer = SGDC(model.parameters(), lr=0.1, topC=2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    reference = SGDC(reference_model.parameters(), lr=0.1, topC=2)
    for t, batch in enumerate(data):
        for group in reference.param_groups:
            group["lr"] = 0.1 * 0.5 ** (t // 2)
        train(model, optimizer, [batch])
        train(reference_model, reference, [batch])
        scheduler.step()
    assert optimizer.base_optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)
    assert torch.equal(flat_params(model), flat_params(reference_model))


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    model = small_model()
    optimizer = SGDC(model.parameters(), lr=0.1, topC=2)
    loss_of(model, batches(1)[0]).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=set_to_none)
    for p in model.parameters():
        if set_to_none:
            assert p.grad is None
        else:
            assert torch.equal(p.grad, torch.zeros_like(p))


def test_step_without_any_gradient_changes_nothing():
    model = small_model()
    optimizer = SGDC(model.parameters(), lr=0.1, weight_decay=0.1, topC=2)
    before = flat_params(model).clone()
    optimizer.step()
    assert torch.equal(flat_params(model), before)
    assert optimizer.buffer.steps == 0
    assert optimizer.ages().tolist() == []


def test_missing_gradient_zero_and_skipped():
    model = small_model()
    frozen = model[0].weight
    optimizer = SGDC(model.parameters(), lr=0.1, weight_decay=0.1, topC=3, decay=0.0)
    for batch in batches(3):
        optimizer.zero_grad()
        loss_of(model, batch).backward()
        optimizer.step()
    # From now on the first layer's weight gets no gradient.
    before = frozen.detach().clone()
    optimizer.zero_grad()
    frozen.requires_grad_(False)
    loss_of(model, batches(1, seed=5)[0]).backward()
    optimizer.step()
    assert frozen.grad is None
    assert torch.equal(frozen.detach(), before)
    newest = optimizer.snapshot().gradients[0, 0]
    assert torch.equal(newest[: frozen.numel()], torch.zeros(frozen.numel()))


def test_nonfinite_gradient_passes_through():
    model, reference_model = small_model(), small_model()
    optimizer = SGDC(model.parameters(), lr=0.1, topC=3)
    reference = torch.optim.SGD(reference_model.parameters(), lr=0.1)
    train(model, optimizer, batches(1))
    train(reference_model, reference, batches(1))
    count_before = int(optimizer.buffer.count[0])
    for m, opt in ((model, optimizer), (reference_model, reference)):
        opt.zero_grad()
        loss_of(m, batches(1)[0]).backward()
        m[2].bias.grad[0] = float("nan")
        opt.step()
    # The parameter becomes NaN exactly where torch.optim.SGD makes it NaN.
    assert torch.equal(torch.isnan(flat_params(model)), torch.isnan(flat_params(reference_model)))
    assert int(optimizer.buffer.count[0]) == count_before
    assert optimizer.buffer.nonfinite_steps.tolist() == [1]
    assert math.isnan(model[2].bias.grad[0].item())


def test_sparse_gradient_raises():
    embedding = torch.nn.Embedding(10, 3, sparse=True)
    optimizer = SGDC(embedding.parameters(), lr=0.1)
    embedding(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="does not support sparse gradients"):
        optimizer.step()


def run_and_checkpoint(make_optimizer, data, stop):
    """Train to ``stop``, save through torch.save, resume into fresh objects, finish."""
    model = small_model()
    optimizer = make_optimizer(model)
    train(model, optimizer, data[:stop])
    stream = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, stream)
    stream.seek(0)
    saved = torch.load(stream, map_location="cpu", weights_only=False)

    resumed_model = small_model(seed=99)
    resumed_model.load_state_dict(saved["model"])
    resumed = make_optimizer(resumed_model)
    resumed.load_state_dict(saved["optimizer"])
    train(resumed_model, resumed, data[stop:])
    return resumed_model, resumed


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda m: SGDMC(m.parameters(), lr=0.05, topC=3, decay=0.9),
        lambda m: AdamC(m.parameters(), lr=0.01, topC=4, aggr="median_norm"),
        lambda m: RMSpropC(
            m.parameters(), lr=0.01, topC=3, selection="mnds", replacement="ncpr",
            generator=torch.Generator().manual_seed(2),
        ),
    ],
)
def test_checkpoint_resumes_bit_for_bit(make_optimizer):
    data = batches(20)
    model = small_model()
    uninterrupted = make_optimizer(model)
    train(model, uninterrupted, data)

    resumed_model, resumed = run_and_checkpoint(make_optimizer, data, stop=9)
    assert torch.equal(flat_params(resumed_model), flat_params(model))
    assert torch.equal(resumed.ages(), uninterrupted.ages())
    assert resumed.max_age == uninterrupted.max_age


def test_load_state_dict_of_base_optimizer_raises():
    model = small_model()
    plain = torch.optim.SGD(model.parameters(), lr=0.1).state_dict()
    with pytest.raises(ValueError, match="no 'critical_gradients' entry"):
        SGDC(model.parameters(), lr=0.1).load_state_dict(plain)


def test_deepcopy_keeps_buffer():
    model = small_model()
    optimizer = SGDC(model.parameters(), lr=0.1, topC=3)
    train(model, optimizer, batches(2))
    copied = copy.deepcopy(optimizer)
    assert torch.equal(copied.ages(), optimizer.ages())
    assert copied.buffer is not optimizer.buffer


def test_add_param_group_extends_buffer():
    model = small_model()
    optimizer = SGDC(model[0].parameters(), lr=0.1, topC=3, decay=0.0)
    train(model, optimizer, batches(2))
    optimizer.add_param_group({"params": model[2].parameters(), "lr": 0.2})
    assert optimizer.buffer.d == sum(p.numel() for p in model.parameters())

    optimizer.zero_grad()
    loss_of(model, batches(1, seed=3)[0]).backward()
    before = model[2].weight.detach().clone()
    optimizer.step()
    stored = optimizer.snapshot().gradients[0]
    first_layer = sum(p.numel() for p in model[0].parameters())
    # Entries stored before the new group count zero on its coordinates.
    assert torch.equal(stored[1, first_layer:], torch.zeros(stored.shape[1] - first_layer))
    assert not torch.equal(model[2].weight.detach(), before)


def test_step_hooks_run():
    model = small_model()
    optimizer = AdamC(model.parameters())
    calls = []
    optimizer.register_step_post_hook(lambda opt, args, kwargs: calls.append(opt))
    train(model, optimizer, batches(1))
    assert calls == [optimizer]


def test_default_path_matches_device_index_path():
    # The CPU optimizer reads slot indices on the host, and on CUDA the same
    # buffer keeps them on the device. Both must give the same run.
    data = batches(15)
    host_model, device_model = small_model(dtype=torch.float64), small_model(dtype=torch.float64)
    host = SGDMC(host_model.parameters(), lr=0.05, topC=3, decay=0.8)
    device = SGDMC(device_model.parameters(), lr=0.05, topC=3, decay=0.8)
    device.buffer._host_indexing = False
    device._allocate_scratch()
    data = [(x.double(), y.double()) for x, y in data]
    train(host_model, host, data)
    train(device_model, device, data)
    torch.testing.assert_close(flat_params(device_model), flat_params(host_model), rtol=1e-12, atol=1e-12)
    assert torch.equal(device.ages(), host.ages())


TORCH_SIGNATURES = [
    (SGDC, torch.optim.SGD, {"topC": 5, "decay": 0.7, "aggr": "sum"}),
    (SGDMC, torch.optim.SGD, {"topC": 5, "decay": 0.7, "aggr": "sum", "momentum": 0.9}),
    (RMSpropC, torch.optim.RMSprop, {"topC": 5, "decay": 0.7, "aggr": "mean"}),
    (AdamC, torch.optim.Adam, {"topC": 5, "decay": 0.7, "aggr": "mean"}),
]


@pytest.mark.parametrize("critical_class,torch_class,own_defaults", TORCH_SIGNATURES)
def test_signature_follows_torch(critical_class, torch_class, own_defaults):
    ours = inspect.signature(critical_class.__init__).parameters
    theirs = inspect.signature(torch_class.__init__).parameters
    for name, parameter in theirs.items():
        if name in ("self", "differentiable"):
            continue
        assert name in ours, name
        expected = own_defaults.get(name, parameter.default)
        assert ours[name].default == expected, name
        assert ours[name].kind == parameter.kind, name
    for name, value in own_defaults.items():
        assert ours[name].default == value, name


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda p: SGDC(p, lr=-0.1), "lr=-0.1: lr must be >= 0"),
        (lambda p: SGDC(p, lr=float("nan")), "lr=nan"),
        (lambda p: SGDMC(p, momentum=-0.5), "momentum=-0.5"),
        (lambda p: SGDC(p, nesterov=True), "Nesterov momentum needs momentum > 0"),
        (lambda p: RMSpropC(p, eps=-1.0), "eps=-1.0"),
        (lambda p: RMSpropC(p, alpha=-0.9), "alpha=-0.9"),
        (lambda p: AdamC(p, betas=(0.9, 1.0)), r"beta2=1.0: beta2 must lie in \[0.0, 1.0\)"),
        (lambda p: AdamC(p, betas=0.9), "betas must be a pair"),
        (lambda p: AdamC(p, weight_decay=-1e-4), "weight_decay=-0.0001"),
        (lambda p: SGDC(p, topC=-1), "topC=-1"),
        (lambda p: SGDC(p, topC=2.5), "topC=2.5"),
        (lambda p: AdamC(p, decay=1.0), "decay=1.0"),
        (lambda p: AdamC(p, decay=float("nan")), "decay=nan"),
        (lambda p: AdamC(p, aggr="avg"), "aggr='avg'"),
        (lambda p: SGDC(p, selection="heap"), "selection='heap'"),
        (lambda p: SGDC(p, replacement="lru"), "replacement='lru'"),
    ],
)
def test_invalid_hyperparameters_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make(small_model().parameters())


def test_mixed_dtypes_raise():
    params = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))]
    with pytest.raises(ValueError, match="must share one dtype"):
        SGDC(params)


def test_complex_parameters_raise():
    with pytest.raises(ValueError, match="only real floating-point"):
        SGDC([torch.nn.Parameter(torch.zeros(2, dtype=torch.complex64))])


def test_wrapper_rejects_non_optimizer():
    with pytest.raises(TypeError, match="torch.optim.Optimizer"):
        CriticalGradients(object())


@cuda
def test_cuda_run_matches_cpu_run():
    data = batches(10, dtype=torch.float64)
    cpu_model = small_model(dtype=torch.float64)
    cuda_model = small_model(dtype=torch.float64, device="cuda")
    make = lambda m: AdamC(m.parameters(), lr=0.01, topC=3, decay=0.9)  # noqa: E731
    cpu_optimizer, cuda_optimizer = make(cpu_model), make(cuda_model)
    train(cpu_model, cpu_optimizer, data)
    train(cuda_model, cuda_optimizer, [(x.cuda(), y.cuda()) for x, y in data])
    torch.testing.assert_close(flat_params(cuda_model).cpu(), flat_params(cpu_model), rtol=1e-9, atol=1e-10)
    assert torch.equal(cuda_optimizer.ages().cpu(), cpu_optimizer.ages())


@cuda
def test_cuda_checkpoint_loads_on_cpu():
    model = small_model(device="cuda")
    optimizer = SGDC(model.parameters(), lr=0.1, topC=3, selection="coin_toss",
                     generator=torch.Generator(device="cuda").manual_seed(0))
    train(model, optimizer, [(x.cuda(), y.cuda()) for x, y in batches(5)])
    stream = io.BytesIO()
    torch.save(optimizer.state_dict(), stream)
    stream.seek(0)
    saved = torch.load(stream, map_location="cpu", weights_only=False)

    cpu_model = small_model()
    cpu_optimizer = SGDC(cpu_model.parameters(), lr=0.1, topC=3, selection="coin_toss",
                         generator=torch.Generator().manual_seed(0))
    cpu_optimizer.load_state_dict(saved)
    assert cpu_optimizer.buffer.slots.device.type == "cpu"
    assert torch.equal(cpu_optimizer.ages(), optimizer.ages().cpu())
    train(cpu_model, cpu_optimizer, batches(2))
