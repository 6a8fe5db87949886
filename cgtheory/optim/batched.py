r"""Base update rules for S independent runs stored as (S, d) tensors.

Each function updates ``params`` (S, d) in place from ``update`` (S, d), the
aggregate that :meth:`BatchedCriticalBuffer.step` returns. The formulas are
those of torch.optim 2.13's single-tensor SGD, RMSprop and Adam, so S runs in
one tensor program match S separate torch.optim runs up to rounding. ``state``
is a dict that the function fills on first use, with torch.optim's key names.
``lr`` may be a float or an (S,) tensor of per-run learning rates.

:class:`BatchedCriticalOptimizer` pairs a buffer with one of these rules:

    >>> import torch
    >>> theta = torch.zeros(1000, 3, dtype=torch.float64)
    >>> opt = BatchedCriticalOptimizer("sgd", 1000, 3, lr=0.1, topC=5, decay=0.7, dtype=torch.float64)
    >>> aggregate = opt.step(theta, theta - 1.0)  # the gradient of ½‖θ - 1‖² in every run
    >>> theta[0].tolist()
    [0.1, 0.1, 0.1]
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from cgtheory._validation import require_choice
from cgtheory.optim.buffer import BatchedCriticalBuffer

RULES = ("sgd", "momentum", "rmsprop", "adam")


def _per_run(value: float | Tensor, params: Tensor) -> float | Tensor:
    """Return a float unchanged, or an (S,) tensor as an (S, 1) column on params' device."""
    if isinstance(value, Tensor):
        return value.to(device=params.device, dtype=params.dtype).reshape(-1, 1)
    return value


def _descend(params: Tensor, direction: Tensor, lr: float | Tensor) -> None:
    """Apply θ ← θ - lr·direction in place."""
    if isinstance(lr, Tensor):
        params.sub_(direction * lr)
    else:
        params.add_(direction, alpha=-lr)


def _descend_ratio(params: Tensor, numerator: Tensor, denominator: Tensor, lr: float | Tensor) -> None:
    """Apply θ ← θ - lr·numerator / denominator in place, in one addcdiv when lr is a float, as torch.optim does."""
    if isinstance(lr, Tensor):
        params.sub_(numerator / denominator * lr)
    else:
        params.addcdiv_(numerator, denominator, value=-lr)


def _regularized(params: Tensor, update: Tensor, weight_decay: float, maximize: bool) -> Tensor:
    """Return the gradient the rule uses: -update if maximizing, plus weight_decay·θ."""
    grad = -update if maximize else update
    if weight_decay != 0:
        grad = grad.add(params, alpha=weight_decay)
    return grad


@torch.no_grad()
def batched_sgd_step(
    params: Tensor,
    update: Tensor,
    *,
    lr: float | Tensor,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> None:
    """Apply θ ← θ - lr·(update + weight_decay·θ) to each of the S rows."""
    grad = _regularized(params, update, weight_decay, maximize)
    _descend(params, grad, _per_run(lr, params))


@torch.no_grad()
def batched_momentum_step(
    params: Tensor,
    update: Tensor,
    state: dict[str, Any],
    *,
    lr: float | Tensor,
    momentum: float = 0.9,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    maximize: bool = False,
) -> None:
    """Apply torch.optim.SGD's momentum step: b ← momentum·b + (1 - dampening)·g (b = g at the first step), θ ← θ - lr·b.

    With ``nesterov`` the step uses g + momentum·b instead of b.
    """
    grad = _regularized(params, update, weight_decay, maximize)
    buffer = state.get("momentum_buffer")
    if buffer is None:
        buffer = grad.detach().clone()
        state["momentum_buffer"] = buffer
    else:
        buffer.mul_(momentum).add_(grad, alpha=1 - dampening)
    direction = grad.add(buffer, alpha=momentum) if nesterov else buffer
    _descend(params, direction, _per_run(lr, params))


@torch.no_grad()
def batched_rmsprop_step(
    params: Tensor,
    update: Tensor,
    state: dict[str, Any],
    *,
    lr: float | Tensor = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    maximize: bool = False,
) -> None:
    """Apply torch.optim.RMSprop's step: v ← α·v + (1 - α)·g², θ ← θ - lr·g / (√v + eps), with its momentum and centered options."""
    grad = _regularized(params, update, weight_decay, maximize)
    if "square_avg" not in state:
        state["step"] = 0
        state["square_avg"] = torch.zeros_like(params)
        if momentum > 0:
            state["momentum_buffer"] = torch.zeros_like(params)
        if centered:
            state["grad_avg"] = torch.zeros_like(params)
    state["step"] += 1

    square_avg = state["square_avg"]
    square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    if centered:
        grad_avg = state["grad_avg"]
        grad_avg.lerp_(grad, 1 - alpha)
        denominator = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
    else:
        denominator = square_avg.sqrt()
    denominator.add_(eps)

    lr = _per_run(lr, params)
    if momentum > 0:
        buffer = state["momentum_buffer"]
        buffer.mul_(momentum).addcdiv_(grad, denominator)
        _descend(params, buffer, lr)
    else:
        _descend_ratio(params, grad, denominator, lr)


@torch.no_grad()
def batched_adam_step(
    params: Tensor,
    update: Tensor,
    state: dict[str, Any],
    *,
    lr: float | Tensor = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    maximize: bool = False,
) -> None:
    """Apply torch.optim.Adam's step with coupled weight decay: θ ← θ - lr·m̂ / (√v̂ + eps), with its amsgrad option."""
    grad = _regularized(params, update, weight_decay, maximize)
    if "exp_avg" not in state:
        state["step"] = 0
        state["exp_avg"] = torch.zeros_like(params)
        state["exp_avg_sq"] = torch.zeros_like(params)
        if amsgrad:
            state["max_exp_avg_sq"] = torch.zeros_like(params)
    state["step"] += 1
    step = state["step"]
    beta1, beta2 = betas

    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = math.sqrt(1 - beta2**step)

    second_moment = exp_avg_sq
    if amsgrad:
        torch.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
        second_moment = state["max_exp_avg_sq"]
    denominator = (second_moment.sqrt() / bias_correction2_sqrt).add_(eps)

    _descend_ratio(params, exp_avg, denominator, _per_run(lr, params) / bias_correction1)


class BatchedCriticalOptimizer:
    """A :class:`BatchedCriticalBuffer` and one base rule, stepping S runs at once.

    Args:
        rule: ``"sgd"``, ``"momentum"``, ``"rmsprop"`` or ``"adam"``.
        S, d: number of runs and dimension.
        topC, decay, selection, replacement, device, dtype, generator,
            exact_sum_every: passed to :class:`BatchedCriticalBuffer`.
        aggr: defaults to ``"sum"`` for ``sgd`` and ``momentum`` and to
            ``"mean"`` for ``rmsprop`` and ``adam``, as in SGDC, SGDMC,
            RMSpropC and AdamC.
        **hyperparameters: keyword arguments of the rule's function
            (``lr``, ``momentum``, ``betas``, ...).
    """

    def __init__(
        self,
        rule: str,
        S: int,
        d: int,
        *,
        topC: int = 5,
        decay: float = 0.7,
        aggr: str | None = None,
        selection: str = "norm",
        replacement: str | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
        generator: torch.Generator | None = None,
        exact_sum_every: int = 1000,
        **hyperparameters: Any,
    ) -> None:
        self.rule = require_choice("rule", rule, RULES)
        if aggr is None:
            aggr = "sum" if rule in ("sgd", "momentum") else "mean"
        self.buffer = BatchedCriticalBuffer(
            S,
            d,
            topC,
            decay,
            aggr,
            selection=selection,
            replacement=replacement,
            device=device,
            dtype=dtype,
            generator=generator,
            exact_sum_every=exact_sum_every,
        )
        self.hyperparameters = hyperparameters
        self.state: dict[str, Any] = {}

    @torch.no_grad()
    def step(self, params: Tensor, grads: Tensor) -> Tensor:
        """Update ``params`` (S, d) in place from ``grads`` (S, d) and return the aggregate used."""
        update = self.buffer.step(grads)
        if self.rule == "sgd":
            batched_sgd_step(params, update, **self.hyperparameters)
        elif self.rule == "momentum":
            batched_momentum_step(params, update, self.state, **self.hyperparameters)
        elif self.rule == "rmsprop":
            batched_rmsprop_step(params, update, self.state, **self.hyperparameters)
        else:
            batched_adam_step(params, update, self.state, **self.hyperparameters)
        return update
