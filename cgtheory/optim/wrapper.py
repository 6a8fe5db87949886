r"""A wrapper that gives any torch.optim optimizer a critical-gradient memory.

Algorithm 1 of "Memory Augmented Optimizers for Deep Learning" (McRae et al.,
ICLR 2022) applies a base optimizer O to aggr(g_t, g_c) in place of g_t.
:class:`CriticalGradients` does exactly that around an existing optimizer. In
each step it flattens every parameter's gradient into one vector g_t, computes
the aggregate and updates the buffer with g_t. Then it puts the aggregate in
``p.grad``, calls the base optimizer's step and puts the user's gradients back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from cgtheory.optim.buffer import BatchedCriticalBuffer, BufferSnapshot


class CriticalGradients(torch.optim.Optimizer):
    r"""Wrap ``base_optimizer`` so that it steps on aggr(g_t, g_c).

    The buffer covers every parameter of every param group: each entry is the
    whole gradient of one step, flattened in param-group order, and its
    priority is that vector's ℓ2 norm. The wrapper shares ``param_groups``
    and ``state`` with the base optimizer, so learning-rate schedulers,
    ``zero_grad`` and hooks work as usual. Everything the base optimizer does
    to a gradient (weight decay, momentum, ``maximize``) it does to the
    aggregate.

    Parameters whose ``p.grad`` is None count as zero in g_t, and keep
    ``p.grad = None`` during the base step, so the base optimizer skips them
    as torch.optim always does. A step in which every ``p.grad`` is None
    changes nothing, the buffer included. A g_t that contains NaN or inf is
    not stored (see :mod:`cgtheory.optim.buffer`). The base optimizer still
    receives the aggregate, non-finite values included, as it would without
    the memory.

    Args:
        base_optimizer: a constructed :class:`torch.optim.Optimizer` whose
            parameters share one device and one real floating dtype. Its
            ``step`` must not need a closure (LBFGS does).
        topC: buffer capacity (>= 0). topC = 0 calls the base optimizer
            unchanged.
        decay: priority decay factor in [0, 1).
        aggr: ``"mean"``, ``"sum"``, ``"min_norm"``, ``"max_norm"`` or
            ``"median_norm"`` (:data:`cgtheory.optim.policies.AGGREGATIONS`).
        selection, replacement: admission and eviction rules
            (:data:`cgtheory.optim.policies.SELECTIONS`, ``REPLACEMENTS``).
        generator: :class:`torch.Generator` on the parameters' device, for the
            random policies.
        exact_sum_every: steps between exact recomputations of the buffer's
            running sum (0: never).

    Example:
        >>> import torch
        >>> model = torch.nn.Linear(3, 1)
        >>> opt = CriticalGradients(torch.optim.SGD(model.parameters(), lr=0.1), topC=5, decay=0.7, aggr="sum")
        >>> model(torch.ones(2, 3)).sum().backward()
        >>> opt.step()
        >>> opt.ages().tolist()
        [0]
    """

    def __init__(
        self,
        base_optimizer: torch.optim.Optimizer,
        topC: int = 5,
        decay: float = 0.7,
        aggr: str = "mean",
        *,
        selection: str = "norm",
        replacement: str | None = None,
        generator: torch.Generator | None = None,
        exact_sum_every: int = 1000,
    ) -> None:
        if not isinstance(base_optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"base_optimizer must be a torch.optim.Optimizer instance, got {type(base_optimizer).__name__}"
            )
        self.base_optimizer = base_optimizer

        # Optimizer.__init__ sets up hooks and profiling. The groups themselves
        # stay the base optimizer's (see add_param_group).
        self._constructing = True
        super().__init__(base_optimizer.param_groups, base_optimizer.defaults)
        self._constructing = False
        self._link_base()

        self._params = self._current_params()
        device, dtype = _common_device_and_dtype(self._params)
        self._buffer = BatchedCriticalBuffer(
            1,
            sum(p.numel() for p in self._params),
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
        self._allocate_scratch()

    # ---------------------------------------------------------- hyperparameters

    @property
    def topC(self) -> int:
        """Buffer capacity."""
        return self._buffer.topC

    @property
    def decay(self) -> float:
        """Priority decay factor."""
        return self._buffer.decay

    @property
    def aggr(self) -> str:
        """Aggregation rule."""
        return self._buffer.aggr

    @property
    def selection(self) -> str:
        """Admission rule for a full buffer."""
        return self._buffer.selection

    @property
    def replacement(self) -> str:
        """Eviction rule."""
        return self._buffer.replacement

    @property
    def buffer(self) -> BatchedCriticalBuffer:
        """The underlying buffer, a :class:`BatchedCriticalBuffer` with S = 1."""
        return self._buffer

    # ------------------------------------------------------------- staleness

    def ages(self) -> Tensor:
        """Return the ages of the stored entries, ascending (0: stored by the latest step)."""
        return self._buffer.ages()[0, : int(self._buffer.count[0])]

    @property
    def max_age(self) -> int:
        """Largest age any entry has reached so far."""
        return int(self._buffer.max_age[0])

    def record_ages_at(self, steps: Iterable[int]) -> None:
        """Record :meth:`ages` after each of the given step numbers (1 = after the first step)."""
        self._buffer.record_ages_at(steps)

    @property
    def age_records(self) -> list[tuple[int, Tensor]]:
        """(step, ages) pairs recorded at the steps given to :meth:`record_ages_at`."""
        return [(step, ages[0][ages[0] >= 0]) for step, ages in self._buffer.age_records]

    def snapshot(self) -> BufferSnapshot:
        """Return a copy of the stored entries, newest first (see :class:`BufferSnapshot`)."""
        return self._buffer.snapshot()

    # ------------------------------------------------------------------ step

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one step of the base optimizer on aggr(g_t, g_c), then update the buffer.

        ``closure``, if given, is evaluated once with gradients enabled to
        recompute the loss and gradients, and its value is returned.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        if self.topC == 0:
            self.base_optimizer.step()
            return loss

        self._sync_params()
        grads = self._collect_grads()
        if all(grad is None for grad in grads):
            # With no gradient at all torch.optim optimizers change nothing, and neither does the buffer.
            return loss
        self._aggregate_and_update(grads)

        with_grad = [i for i, grad in enumerate(grads) if grad is not None]
        for i in with_grad:
            self._params[i].grad = self._aggregate_views[i]
        try:
            self.base_optimizer.step()
        finally:
            for i in with_grad:
                self._params[i].grad = grads[i]
        return loss

    def _collect_grads(self) -> list[Tensor | None]:
        grads = []
        for index, p in enumerate(self._params):
            grad = p.grad
            if grad is not None and grad.is_sparse:
                raise RuntimeError(
                    f"{type(self).__name__} does not support sparse gradients (parameter {index} of "
                    f"shape {tuple(p.shape)} has one); use dense gradients, for example "
                    "nn.Embedding(..., sparse=False)"
                )
            grads.append(grad)
        return grads

    def _aggregate_and_update(self, grads: list[Tensor | None]) -> None:
        """Write g_t into the buffer, compute the aggregate into the scratch vector, update the buffer."""
        buffer = self._buffer
        if buffer._host_indexing:
            target = buffer._incoming_view()
            views = self._incoming_views()
        else:
            target = self._flat_grad
            views = self._flat_grad_views

        present = [i for i, grad in enumerate(grads) if grad is not None]
        missing = [i for i, grad in enumerate(grads) if grad is None]
        if present:
            torch._foreach_copy_([views[i] for i in present], [grads[i] for i in present])
        if missing:
            torch._foreach_zero_([views[i] for i in missing])

        if buffer._host_indexing:
            buffer._advance(target, self._aggregate_flat)
        else:
            buffer.step(target, out=self._aggregate_flat)

    # ------------------------------------------------------- parameter layout

    def _link_base(self) -> None:
        self.param_groups = self.base_optimizer.param_groups
        self.state = self.base_optimizer.state
        self.defaults = self.base_optimizer.defaults

    def _current_params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def _incoming_views(self) -> list[Tensor]:
        """Return views shaped like the parameters into the buffer's free slot, cached per slot."""
        buffer = self._buffer
        if self._slot_views_of is not buffer.slots:
            self._slot_views_of = buffer.slots
            self._slot_views = {}
        slot = buffer._incoming_slot()
        if slot not in self._slot_views:
            self._slot_views[slot] = self._views_of(buffer.slots[0, slot])
        return self._slot_views[slot]

    def _views_of(self, flat: Tensor) -> list[Tensor]:
        """Split a flat (d,) tensor into views shaped like the parameters."""
        views = flat.split([p.numel() for p in self._params])
        return [view.view_as(p) for view, p in zip(views, self._params)]

    def _allocate_scratch(self) -> None:
        d = self._buffer.d
        like = {"device": self._buffer.device, "dtype": self._buffer.dtype}
        self._aggregate_flat = torch.empty((1, d if self.topC > 0 else 0), **like)
        self._aggregate_views = self._views_of(self._aggregate_flat[0]) if self.topC > 0 else []
        self._slot_views_of: Tensor | None = None
        self._slot_views: dict[int, list[Tensor]] = {}
        # Off the host path g_t goes through a flat scratch vector, then into the buffer by scatter.
        if self.topC > 0 and not self._buffer._host_indexing:
            self._flat_grad = torch.empty((1, d), **like)
            self._flat_grad_views = self._views_of(self._flat_grad[0])

    def _sync_params(self) -> None:
        """Grow the buffer when parameters were appended to the param groups since the last step."""
        current = self._current_params()
        if len(current) == len(self._params) and all(a is b for a, b in zip(current, self._params)):
            return
        prefix = current[: len(self._params)]
        if len(current) < len(self._params) or any(a is not b for a, b in zip(prefix, self._params)):
            raise RuntimeError(
                "the optimizer's parameters were removed or reordered after construction, but the "
                "critical-gradient buffer supports only appending parameters (add_param_group)"
            )
        _common_device_and_dtype(current, expected=(self._buffer.device, self._buffer.dtype))
        self._params = current
        self._buffer.extend(sum(p.numel() for p in current))
        self._allocate_scratch()

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a param group to the base optimizer, with zeros for its parameters in the stored entries."""
        if self._constructing:
            # Optimizer.__init__ passes the base optimizer's existing groups here.
            return
        self.base_optimizer.add_param_group(param_group)
        self._sync_params()

    # ------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Return the base optimizer's state dict with the buffer under ``"critical_gradients"``.

        NOTE: state-dict hooks registered on this wrapper are not run. Register
        them on ``base_optimizer``, whose own hooks run as usual.
        """
        state = self.base_optimizer.state_dict()
        state["critical_gradients"] = self._buffer.state_dict()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a :meth:`state_dict`: the base optimizer's part and the buffer, on this optimizer's device."""
        state_dict = dict(state_dict)
        critical = state_dict.pop("critical_gradients", None)
        if critical is None:
            raise ValueError(
                "invalid state_dict: it has no 'critical_gradients' entry, so it was not saved by "
                "CriticalGradients; load it into the base optimizer instead"
            )
        self.base_optimizer.load_state_dict(state_dict)
        self._link_base()
        self._buffer.load_state_dict(critical)

    def __getstate__(self) -> dict[str, Any]:
        # Optimizer.__getstate__ keeps only defaults, state and param_groups, but
        # pickling and deepcopy need the buffer and the base optimizer too.
        return self.__dict__.copy()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(topC={self.topC}, decay={self.decay}, aggr={self.aggr!r}, "
            f"selection={self.selection!r}, replacement={self.replacement!r}, "
            f"base_optimizer={self.base_optimizer!r})"
        )


def _common_device_and_dtype(
    params: list[Tensor], expected: tuple[torch.device, torch.dtype] | None = None
) -> tuple[torch.device, torch.dtype]:
    """Return the one device and dtype of ``params``, or raise ValueError."""
    devices = {p.device for p in params}
    dtypes = {p.dtype for p in params}
    if expected is not None:
        devices.add(expected[0])
        dtypes.add(expected[1])
    if len(devices) != 1:
        raise ValueError(
            f"invalid parameters on devices {sorted(map(str, devices))}: the critical-gradient buffer "
            "stores whole gradients in one tensor, so all parameters must be on one device"
        )
    if len(dtypes) != 1:
        raise ValueError(
            f"invalid parameters of dtypes {sorted(map(str, dtypes))}: all parameters must share one "
            "dtype; wrap each dtype's parameters in its own optimizer"
        )
    (dtype,) = dtypes
    if not dtype.is_floating_point:
        raise ValueError(
            f"invalid parameter dtype {dtype}: only real floating-point parameters are supported "
            "(complex parameters can be optimized as torch.view_as_real)"
        )
    (device,) = devices
    return device, dtype
