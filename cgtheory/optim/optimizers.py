r"""SGDC, SGDMC, RMSpropC and AdamC: torch.optim's SGD, RMSprop and Adam with critical gradients.

Equation, table and section numbers refer to "Memory Augmented Optimizers for
Deep Learning" (McRae, Parthasarathi, Assran and Chandar, ICLR 2022).

Each class takes the arguments of its torch.optim counterpart, with the same
names and defaults, plus the memory's own keyword arguments. The base
optimizer steps on aggr(g_t, g_c) in place of g_t, so its weight decay
(weight_decay·θ added to the gradient), momentum and ``maximize`` act on the
aggregate.

Defaults of the memory
----------------------
topC = 5 and decay = 0.7: of the 36 best configurations in the hyperparameter
tables (Tables 6 to 9: CIFAR-10/100, PTB, WikiText, MultiWoZ and SNLI), 23 use topC = 5 with decay = 0.7, more than any other pair from the
searched grid topC ∈ {5, 10, 20}, decay ∈ {0.7, 0.9, 0.99}.

aggr: ``"sum"`` for SGDC and SGDMC, ``"mean"`` for RMSpropC and AdamC, the
choices that Section 2 and Appendix F.1 report as best for each
family (adaptive methods tolerate mean's 1/(topC + 1) scaling of g_t).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from cgtheory._validation import require_in_range, require_nonnegative
from cgtheory.optim.wrapper import CriticalGradients

DEFAULT_TOPC = 5
DEFAULT_DECAY = 0.7


def _check_nonnegative(name: str, value: Any) -> None:
    """Raise ValueError unless ``value`` is >= 0. Tensors are left to torch.optim to check."""
    if isinstance(value, torch.Tensor):
        return
    require_nonnegative(name, value)


def _check_beta(name: str, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        return
    require_in_range(name, value, 0.0, 1.0)


def _check_betas(betas: Any) -> None:
    if not (isinstance(betas, tuple | list) and len(betas) == 2):
        raise ValueError(f"invalid betas={betas!r}: betas must be a pair (beta1, beta2) with each in [0, 1)")
    _check_beta("beta1", betas[0])
    _check_beta("beta2", betas[1])


def _check_flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"invalid {name}={value!r}: {name} must be True or False")


class SGDC(CriticalGradients):
    r"""SGD with critical gradients (Eq. 1): θ_{t+1} = θ_t - α·aggr(g_t, g_c).

    With ``momentum`` > 0 this is SGDMC (Eq. 4); see :class:`SGDMC` for the
    class whose default momentum is 0.9.

    Args:
        params: parameters or param groups, as for :class:`torch.optim.SGD`.
        lr, momentum, dampening, weight_decay, nesterov, maximize, foreach,
            fused: as for :class:`torch.optim.SGD` (torch 2.13 defaults);
            weight decay acts on the aggregate.
        topC: buffer capacity; 5 by default (see :mod:`cgtheory.optim.optimizers`).
        decay: priority decay in [0, 1); 0.7 by default.
        aggr: ``"sum"`` by default, g_t + (Σ g_c) / n (Eq. 3).
        selection, replacement, generator: see :class:`CriticalGradients`.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | torch.Tensor = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float | torch.Tensor = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
        topC: int = DEFAULT_TOPC,
        decay: float = DEFAULT_DECAY,
        aggr: str = "sum",
        selection: str = "norm",
        replacement: str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        _check_nonnegative("lr", lr)
        _check_nonnegative("momentum", momentum)
        _check_nonnegative("dampening", dampening)
        _check_nonnegative("weight_decay", weight_decay)
        _check_flag("nesterov", nesterov)
        _check_flag("maximize", maximize)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"invalid nesterov=True with momentum={momentum!r}, dampening={dampening!r}: "
                "Nesterov momentum needs momentum > 0 and dampening = 0"
            )
        base = torch.optim.SGD(
            params,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            fused=fused,
        )
        super().__init__(base, topC, decay, aggr, selection=selection, replacement=replacement, generator=generator)


class SGDMC(SGDC):
    r"""SGD with Polyak momentum and critical gradients (Eq. 4).

    m_t = γ·m_{t-1} + aggr(g_t, g_c),  θ_{t+1} = θ_t - α·m_t, with torch.optim.SGD's
    momentum rule (m_1 = aggr(g_1, ∅) = g_1, then dampening applies).
    The same as :class:`SGDC` with ``momentum=0.9`` by default, the
    momentum of the paper's best SGDMC configurations (Tables 6 to 9).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | torch.Tensor = 1e-3,
        momentum: float = 0.9,
        dampening: float = 0.0,
        weight_decay: float | torch.Tensor = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
        topC: int = DEFAULT_TOPC,
        decay: float = DEFAULT_DECAY,
        aggr: str = "sum",
        selection: str = "norm",
        replacement: str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            momentum,
            dampening,
            weight_decay,
            nesterov,
            maximize=maximize,
            foreach=foreach,
            fused=fused,
            topC=topC,
            decay=decay,
            aggr=aggr,
            selection=selection,
            replacement=replacement,
            generator=generator,
        )


class RMSpropC(CriticalGradients):
    r"""RMSprop with critical gradients (Eq. 5).

    E[g²]_t = α·E[g²]_{t-1} + (1 - α)·aggr(g_t, g_c)²,
    θ_{t+1} = θ_t - η·aggr(g_t, g_c) / (√E[g²]_t + ε).

    Eq. 5 writes α = 0.9. The default here is torch.optim.RMSprop's 0.99,
    so that swapping the class changes nothing else.

    Args:
        params, lr, alpha, eps, weight_decay, momentum, centered, capturable,
            foreach, maximize: as for :class:`torch.optim.RMSprop`; weight
            decay acts on the aggregate.
        topC, decay: 5 and 0.7 by default (see :mod:`cgtheory.optim.optimizers`).
        aggr: ``"mean"`` by default, (g_t + Σ g_c) / (n + 1) (Eq. 2).
        selection, replacement, generator: see :class:`CriticalGradients`.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | torch.Tensor = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        *,
        topC: int = DEFAULT_TOPC,
        decay: float = DEFAULT_DECAY,
        aggr: str = "mean",
        selection: str = "norm",
        replacement: str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        _check_nonnegative("lr", lr)
        _check_nonnegative("alpha", alpha)
        _check_nonnegative("eps", eps)
        _check_nonnegative("weight_decay", weight_decay)
        _check_nonnegative("momentum", momentum)
        _check_flag("centered", centered)
        _check_flag("maximize", maximize)
        base = torch.optim.RMSprop(
            params,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
        )
        super().__init__(base, topC, decay, aggr, selection=selection, replacement=replacement, generator=generator)


class AdamC(CriticalGradients):
    r"""Adam with critical gradients (Eq. 6).

    m_t = β1·m_{t-1} + (1 - β1)·aggr(g_t, g_c),  v_t = β2·v_{t-1} + (1 - β2)·aggr(g_t, g_c)²,
    θ_{t+1} = θ_t - η·m̂_t / (√v̂_t + ε) with the bias corrections m̂_t = m_t / (1 - β1^t),
    v̂_t = v_t / (1 - β2^t).

    Args:
        params, lr, betas, eps, weight_decay, amsgrad, foreach, maximize,
            capturable, fused, decoupled_weight_decay: as for
            :class:`torch.optim.Adam`; coupled weight decay acts on the
            aggregate, decoupled weight decay on the parameters.
        topC, decay: 5 and 0.7 by default (see :mod:`cgtheory.optim.optimizers`).
        aggr: ``"mean"`` by default, (g_t + Σ g_c) / (n + 1) (Eq. 2).
        selection, replacement, generator: see :class:`CriticalGradients`.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | torch.Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
        topC: int = DEFAULT_TOPC,
        decay: float = DEFAULT_DECAY,
        aggr: str = "mean",
        selection: str = "norm",
        replacement: str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        _check_nonnegative("lr", lr)
        _check_betas(betas)
        _check_nonnegative("eps", eps)
        _check_nonnegative("weight_decay", weight_decay)
        _check_flag("amsgrad", amsgrad)
        _check_flag("maximize", maximize)
        base = torch.optim.Adam(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(base, topC, decay, aggr, selection=selection, replacement=replacement, generator=generator)
