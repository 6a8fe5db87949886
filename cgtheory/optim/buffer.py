r"""The critical-gradient buffer for S independent runs at once.

:class:`BatchedCriticalBuffer` holds, for each of S runs, up to topC past
gradients of dimension d with their priorities. One step with gradient g_t

1. returns aggr(g_t, buffer) computed from the buffer as it was before the step;
2. stores g_t if the buffer is not full, or, when the selection rule admits it,
   puts it in place of the entry the replacement rule picks (by default: when
   ‖g_t‖ exceeds the smallest priority, in place of that entry);
3. multiplies every priority, a just-stored one included, by decay, and adds
   one to the age of every older entry.

The single-run optimizer :class:`cgtheory.optim.CriticalGradients` is the
S = 1 case of this class: both run the same methods, and every decision comes
from :mod:`cgtheory.optim.policies`.

Storage and cost
----------------
``slots`` is one preallocated (S, topC + 1, d) tensor. Per run, topC slots can
hold entries and the remaining free slot (``incoming``) receives g_t, so
storing g_t moves no data: the free slot becomes an entry and the evicted
entry's slot becomes the free one. The aggregate comes from ``total``, the
running sum of the stored gradients, updated by total += g_t - g_evicted on
each replacement, so a step reads and writes O(d) numbers whatever topC is.

Running sums drift in floating point, and after a large gradient leaves, the
rounding it caused stays in ``total``. Every ``exact_sum_every`` steps (1000 by
default, 0 for never) ``total`` is therefore recomputed from the stored
entries, so such an error lasts at most that many steps. A recomputation reads
the n stored entries, which adds n / exact_sum_every passes over d numbers to
a step on average. Keeping the sum in float64 instead would double the memory
traffic of every update of a float32 sum.

Non-finite gradients
--------------------
A g_t containing NaN or inf (or whose squared norm overflows the dtype) never
enters the buffer: it is neither stored nor compared, but priorities still
decay and ages still advance, because a step happened. The aggregate of such a
step is returned as computed, so the non-finite values reach the caller just
as they would reach a base optimizer without memory.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from cgtheory._validation import require_in_range, require_int_at_least
from cgtheory.optim import policies

logger = logging.getLogger(__name__)

_AGE_PADDING = torch.iinfo(torch.int64).max


@dataclass(frozen=True)
class BufferSnapshot:
    """A copy of the stored entries of every run, newest first.

    Attributes:
        gradients: (S, topC, d) stored gradients; rows past ``count`` are zero.
        priorities: (S, topC) float64 decayed priorities; 0 past ``count``.
        norms: (S, topC) float64 norms of the stored gradients; 0 past ``count``.
        ages: (S, topC) int64 ages; -1 past ``count``.
        count: (S,) int64 number of stored entries.
    """

    gradients: Tensor
    priorities: Tensor
    norms: Tensor
    ages: Tensor
    count: Tensor


class BatchedCriticalBuffer:
    r"""S independent critical-gradient buffers of capacity topC over d coordinates.

    Args:
        S: number of independent runs (>= 1).
        d: dimension of each gradient (>= 1).
        topC: capacity of each buffer (>= 0). With topC = 0 the aggregate is
            g_t itself and nothing is stored.
        decay: factor in [0, 1) that multiplies every priority once per step.
        aggr: one of :data:`cgtheory.optim.policies.AGGREGATIONS`.
        selection: one of :data:`cgtheory.optim.policies.SELECTIONS`.
        replacement: one of :data:`cgtheory.optim.policies.REPLACEMENTS`, or
            None for the selection's own rule (``smallest`` for ``norm``).
        device, dtype: where and in which floating dtype gradients are stored.
            Priorities and norms are float64 (float32 on MPS, which has no
            float64), so that decay^age underflows only after about 2000
            steps at decay = 0.7.
        generator: a :class:`torch.Generator` on ``device`` for the random
            policies, which draw two float64 uniforms per run and step from it
            (admission, then eviction), used or not. When None and a random
            policy is chosen, one is created and seeded from torch's global
            generator, so ``torch.manual_seed`` makes runs repeat.
        exact_sum_every: recompute the running sum from the entries every
            this many steps (0: never).

    Attributes:
        slots: (S, topC + 1, d) stored gradients, plus one free slot per run.
        total: (S, d) running sum of the stored gradients.
        priority: (S, topC + 1) decayed priorities, ‖g_k‖·decay^(age_k + 1).
        norms: (S, topC + 1) norms ‖g_k‖ of the stored gradients.
        age: (S, topC + 1) int64 steps since the entry was stored; 0 right
            after the step that stored it.
        occupied: (S, topC + 1) bool, which slots hold an entry. Vacant
            slots keep stale values in the other per-slot tensors.
        incoming: (S,) int64 free slot that receives the next gradient.
        max_age: (S,) int64 largest age any entry has reached.
        nonfinite_steps: (S,) int64 steps whose gradient was not finite.
        steps: number of completed steps.
        age_records: list of (step, ages) pairs recorded at the steps given
            to :meth:`record_ages_at`; ages is the (S, topC) output of
            :meth:`ages` after that step.
    """

    def __init__(
        self,
        S: int,
        d: int,
        topC: int = 5,
        decay: float = 0.7,
        aggr: str = "mean",
        *,
        selection: str = "norm",
        replacement: str | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
        generator: torch.Generator | None = None,
        exact_sum_every: int = 1000,
    ) -> None:
        self.S = require_int_at_least("S", S, 1)
        self.d = require_int_at_least("d", d, 1)
        self.topC = require_int_at_least("topC", topC, 0)
        self.decay = require_in_range("decay", decay, 0.0, 1.0)
        self.aggr, self.selection, self.replacement = policies.resolve_policies(aggr, selection, replacement)
        self.exact_sum_every = require_int_at_least("exact_sum_every", exact_sum_every, 0)
        if not dtype.is_floating_point:
            raise ValueError(f"invalid dtype={dtype}: gradients must be stored in a floating-point dtype")

        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.dtype = dtype
        self.score_dtype = torch.float32 if self.device.type == "mps" else torch.float64
        self.generator = self._make_generator(generator)

        P = self.topC + 1
        self._set_slots(torch.zeros((self.S, P, self.d), device=self.device, dtype=dtype))
        self.total = torch.zeros((self.S, self.d), device=self.device, dtype=dtype)
        self.priority = torch.zeros((self.S, P), device=self.device, dtype=self.score_dtype)
        self.norms = torch.zeros((self.S, P), device=self.device, dtype=self.score_dtype)
        self.age = torch.zeros((self.S, P), device=self.device, dtype=torch.int64)
        self.occupied = torch.zeros((self.S, P), device=self.device, dtype=torch.bool)
        self._count = torch.zeros(self.S, device=self.device, dtype=torch.int64)
        self.incoming = torch.zeros(self.S, device=self.device, dtype=torch.int64)
        self.max_age = torch.zeros(self.S, device=self.device, dtype=torch.int64)
        self.nonfinite_steps = torch.zeros(self.S, device=self.device, dtype=torch.int64)
        self.steps = 0
        self.age_records: list[tuple[int, Tensor]] = []
        self._record_steps: set[int] = set()
        self._warned_nonfinite = False
        self._host_slots: _HostSlots | None = None

        self._run_index = torch.arange(self.S, device=self.device)
        self._run_offsets = self._run_index * P
        self._slot_index = torch.arange(P, device=self.device).unsqueeze(0)
        # With one run on the CPU, slot indices are read on the host and data
        # moves through views. Elsewhere they stay on the device (no host
        # synchronization) and data moves through index_copy_ and index_select.
        self._host_indexing = self.S == 1 and self.device.type == "cpu"
        self._row_views_of: Tensor | None = None
        self._row_views: dict[int, Tensor] = {}

    def _make_generator(self, generator: torch.Generator | None) -> torch.Generator | None:
        if generator is not None:
            if generator.device.type != self.device.type:
                raise ValueError(
                    f"invalid generator on {generator.device}: the generator must be on the "
                    f"buffer's device type ({self.device.type})"
                )
            return generator
        if not policies.needs_random(self.selection, self.replacement):
            return None
        seed = int(torch.randint(0, 2**62, (1,)).item())
        created = torch.Generator(device=self.device)
        created.manual_seed(seed)
        return created

    # The per-slot state. On the host path (one run on the CPU) the newest
    # values may sit in ``_host_slots`` as Python lists, and are written to
    # the tensors only when someone reads a tensor (see _HostSlots).

    def _tensor_state(self, name: str) -> Tensor:
        host = self.__dict__.get("_host_slots")
        if host is not None and host.dirty:
            host.write(self)
        return self.__dict__[name]

    def _set_tensor_state(self, name: str, value: Tensor) -> None:
        self.__dict__[name] = value
        self.__dict__["_host_slots"] = None

    priority = property(lambda self: self._tensor_state("_priority"),
                        lambda self, value: self._set_tensor_state("_priority", value))
    norms = property(lambda self: self._tensor_state("_norms"),
                     lambda self, value: self._set_tensor_state("_norms", value))
    age = property(lambda self: self._tensor_state("_age"),
                   lambda self, value: self._set_tensor_state("_age", value))
    occupied = property(lambda self: self._tensor_state("_occupied"),
                        lambda self, value: self._set_tensor_state("_occupied", value))
    incoming = property(lambda self: self._tensor_state("_incoming"),
                        lambda self, value: self._set_tensor_state("_incoming", value))
    max_age = property(lambda self: self._tensor_state("_max_age"),
                       lambda self, value: self._set_tensor_state("_max_age", value))
    _count = property(lambda self: self._tensor_state("_count_tensor"),
                      lambda self, value: self._set_tensor_state("_count_tensor", value))

    def _incoming_slot(self) -> int:
        """Return the free slot of the single run as a Python int (host path)."""
        host = self._host_slots
        return host.incoming if host is not None else int(self.incoming.item())

    def _host_state(self) -> _HostSlots:
        if self._host_slots is None:
            self.__dict__["_host_slots"] = _HostSlots.read(self)
        return self._host_slots

    def _set_slots(self, slots: Tensor) -> None:
        """Store ``slots`` (S, topC + 1, d) as a view of ``_rows_with_zero``, whose extra last row stays zero."""
        S, P, d = slots.shape
        self._rows_with_zero = torch.zeros((S * P + 1, d), device=slots.device, dtype=slots.dtype)
        self.slots = self._rows_with_zero[: S * P].view(S, P, d)
        self.slots.copy_(slots)

    def _flat_rows(self) -> Tensor:
        """Return the (S·(topC + 1) + 1, d) rows behind ``slots``; the last row is zero."""
        if self._rows_with_zero.data_ptr() != self.slots.data_ptr() or not self.slots.is_contiguous():
            # A new slots tensor was assigned from outside: copy it into fresh storage.
            self._set_slots(self.slots.clone())
        return self._rows_with_zero

    def _flat_index(self, slot: Tensor, keep: Tensor | None = None) -> Tensor:
        """Return, per run, the row of ``slot`` in :meth:`_flat_rows`, or the zero row where ``keep`` is False."""
        index = self._run_offsets + slot
        if keep is None:
            return index
        return torch.where(keep, index, self._run_offsets.numel() * (self.topC + 1))

    # ------------------------------------------------------------------ queries

    @property
    def count(self) -> Tensor:
        """(S,) int64 number of stored entries per run."""
        return self._count.clone()

    def ages(self) -> Tensor:
        """Return the (S, topC) int64 ages of the stored entries, ascending, padded with -1."""
        padded = self.age.masked_fill(~self.occupied, _AGE_PADDING)
        ordered = padded.sort(dim=-1).values[:, : self.topC]
        return ordered.masked_fill(ordered == _AGE_PADDING, -1)

    def snapshot(self) -> BufferSnapshot:
        """Return a copy of every run's stored entries, newest first."""
        padded = self.age.masked_fill(~self.occupied, _AGE_PADDING)
        order = padded.argsort(dim=-1, stable=True)[:, : self.topC]
        kept = self.occupied.gather(1, order)

        gradients = self.slots.gather(1, order.unsqueeze(-1).expand(-1, -1, self.d))
        gradients = gradients.masked_fill(~kept.unsqueeze(-1), 0.0)
        return BufferSnapshot(
            gradients=gradients,
            priorities=self.priority.gather(1, order).masked_fill(~kept, 0.0),
            norms=self.norms.gather(1, order).masked_fill(~kept, 0.0),
            ages=self.age.gather(1, order).masked_fill(~kept, -1),
            count=self.count,
        )

    def record_ages_at(self, steps: Iterable[int]) -> None:
        """Record :meth:`ages` after each of the given step numbers (1 = after the first step).

        Records go to :attr:`age_records`, for age histograms such as the
        paper's Figures 4 and 8.
        """
        for step in steps:
            self._record_steps.add(require_int_at_least("step", step, 1))

    # --------------------------------------------------------------- the step

    @torch.no_grad()
    def aggregate(self, g: Tensor) -> Tensor:
        """Return aggr(g, buffer), shape (S, d), without changing the buffer."""
        g = self._check_gradient(g)
        return self._aggregate(g, self._count, torch.empty_like(g))

    @torch.no_grad()
    def update(self, g: Tensor) -> None:
        """Offer g (S, d) to the buffers, then decay priorities and advance ages."""
        g = self._check_gradient(g)
        if self.topC == 0:
            self._finish_step()
            return
        self._write_incoming(g)
        self._update(g, self._norm(g), self._count)

    @torch.no_grad()
    def step(self, g: Tensor, out: Tensor | None = None) -> Tensor:
        """Return aggr(g, buffer before the step), then update the buffer with g.

        Equivalent to :meth:`aggregate` followed by :meth:`update`, with one
        norm computation. ``out``, if given, receives the aggregate.
        """
        g = self._check_gradient(g)
        if out is None:
            out = torch.empty_like(g)
        if self.topC == 0:
            out.copy_(g)
            self._finish_step()
            return out
        self._write_incoming(g)
        return self._advance(g, out)

    def _check_gradient(self, g: Tensor) -> Tensor:
        if g.shape != (self.S, self.d):
            raise ValueError(f"invalid gradient shape {tuple(g.shape)}: expected (S, d) = ({self.S}, {self.d})")
        if g.is_sparse:
            raise ValueError("sparse gradients are not supported; pass a dense (S, d) tensor")
        return g.to(device=self.device, dtype=self.dtype)

    def _incoming_view(self) -> Tensor:
        """Return the (1, d) view of the free slot, where the caller may write g_t (one run, CPU)."""
        return self._host_row(self._incoming_slot())

    def _host_row(self, slot: int) -> Tensor:
        """Return the (1, d) view of one slot of the single run, cached per slot."""
        # Each eager view costs a dispatch; the cache is dropped when slots is replaced.
        if self._row_views_of is not self.slots:
            self._row_views_of = self.slots
            self._row_views = {}
        if slot not in self._row_views:
            self._row_views[slot] = self.slots[0, slot : slot + 1]
        return self._row_views[slot]

    def _write_incoming(self, g: Tensor) -> None:
        if self._host_indexing:
            self._incoming_view().copy_(g)
        else:
            self._flat_rows().index_copy_(0, self._flat_index(self.incoming), g)

    def _rows(self, slot: Tensor) -> Tensor:
        """Return slots[s, slot[s]] for every run, (S, d): a view on the host path, a copy otherwise."""
        if self._host_indexing:
            return self._host_row(int(slot.item()))
        return self._flat_rows().index_select(0, self._flat_index(slot))

    def _norm(self, g: Tensor) -> Tensor:
        """Return ‖g‖ per run as an (S,) tensor of ``score_dtype``."""
        if self.dtype in (torch.float16, torch.bfloat16):
            return torch.linalg.vector_norm(g, dim=-1, dtype=torch.float32).to(self.score_dtype)
        if self._host_indexing:
            # A 1-D vecdot is one pass without a temporary. On 1M float32
            # entries in cache it ran 1.4 times faster than vector_norm
            # (torch 2.13, one thread, AMD EPYC), and as fast from memory.
            flat = g.view(-1)
            value = math.sqrt(float(torch.linalg.vecdot(flat, flat)))
            return torch.full((1,), value, dtype=self.score_dtype)
        return torch.linalg.vecdot(g, g).to(self.score_dtype).sqrt()

    def _advance(self, g: Tensor, out: Tensor) -> Tensor:
        """Aggregate into ``out`` and update, for a g already written into the free slots."""
        if self._host_indexing:
            return self._advance_on_host(g, out)
        self._aggregate(g, self._count, out)
        self._update(g, self._norm(g), self._count)
        return out

    # ------------------------------------------------- one run on the CPU

    def _advance_on_host(self, g: Tensor, out: Tensor) -> Tensor:
        """Run :meth:`_advance` for one run on the CPU, deciding with Python numbers.

        The per-slot state has topC + 1 numbers, so each torch operation on it
        costs far more in dispatch than in arithmetic. Here it is read once
        with ``tolist``, decided and updated in Python floats (IEEE doubles,
        like the float64 tensors) and written back as new tensors. The
        decisions, priorities and ages are those of the tensor path.
        """
        slots = self._host_state()
        norm = self._norm(g)
        value = float(norm[0])
        finite = math.isfinite(value)

        uniform = None
        if self.generator is not None:
            # Two draws per step, used or not, as on the tensor path.
            uniform = torch.rand((1, 2), generator=self.generator, device=self.device, dtype=self.score_dtype)
        if self.selection in _HOST_SELECTIONS and self.replacement in _HOST_REPLACEMENTS:
            store, replace, evict = slots.decide(self.selection, self.replacement, value, finite, self.topC)
        else:
            cosine = self._cosine_with_total(g, norm) if self.selection in ("cds", "css") else None
            decision = policies.decide(
                self.selection, self.replacement, norm, finite, torch.tensor([slots.count == self.topC]),
                self.priority, self.norms, self.age, self.occupied, uniform, cosine,
            )
            store, replace, evict = (bool(decision[0]), bool(decision[1]), int(decision[2]))

        self._aggregate_and_update_total(g, out, slots.count, store, replace, evict)
        slots.update(value, store, replace, evict, self.decay)
        self._count_nonfinite(finite)
        self._finish_step()
        return out

    def _aggregate_and_update_total(
        self, g: Tensor, out: Tensor, count: int, store: bool, replace: bool, evict: int
    ) -> None:
        """Write aggr(g, buffer) into ``out`` and apply total ← total + g - g_evicted, on the host path."""
        if store and count > 0 and self.aggr == "mean":
            # mean = (g + Σ)·a and the new sum is (Σ + g) - g_evicted. Forming
            # Σ + g once in place serves both, saving a pass over d numbers,
            # and floating-point addition is commutative, so out is bit for
            # bit the value of the separate computation.
            a, _ = policies.aggregation_weights(self.aggr, count)
            torch.mul(self.total.add_(g), a, out=out)
        else:
            self._aggregate_on_host(g, count, out)
            if store:
                self.total.add_(g)
        if replace:
            self.total.sub_(self._host_row(evict))

    def _aggregate(self, g: Tensor, count: Tensor, out: Tensor) -> Tensor:
        if self._host_indexing:
            return self._aggregate_on_host(g, int(count.item()), out)

        linear = self.aggr in policies.LINEAR_AGGREGATIONS
        a, b = policies.aggregation_weights(self.aggr, count)
        a = a.to(self.dtype).unsqueeze(-1)
        b = b.to(self.dtype).unsqueeze(-1)
        if self.aggr == "sum":
            return torch.addcmul(g, self.total, b, out=out)
        if linear:
            return torch.mul(torch.add(g, self.total), a, out=out)
        selected = self._rows(policies.selected_slot(self.aggr, self.norms, self.age, self.occupied))
        torch.mul(torch.add(g, selected), a, out=out)
        # An empty buffer contributes nothing: return g itself there, also when
        # an unused slot contains non-finite values.
        return torch.where((count > 0).unsqueeze(-1), out, g, out=out)

    def _aggregate_on_host(self, g: Tensor, n: int, out: Tensor) -> Tensor:
        """Write aggr(g, buffer) into ``out`` for a single run with ``n`` stored entries."""
        if n == 0:
            return out.copy_(g)
        a, b = policies.aggregation_weights(self.aggr, n)
        if self.aggr == "sum":
            return torch.add(g, self.total, alpha=b, out=out)
        if self.aggr in policies.LINEAR_AGGREGATIONS:
            other = self.total
        else:
            other = self._rows(policies.selected_slot(self.aggr, self.norms, self.age, self.occupied))
        # mean: a = b = 1/(n + 1); single-gradient rules: a = b = 1/2.
        return torch.add(g, other, out=out).mul_(a)

    def _cosine_with_total(self, g: Tensor, norm: Tensor) -> Tensor:
        total_norm = torch.linalg.vecdot(self.total, self.total).to(self.score_dtype).sqrt()
        inner = torch.linalg.vecdot(g, self.total).to(self.score_dtype)
        denominator = norm * total_norm
        return torch.where(denominator > 0, inner / denominator.clamp_min(torch.finfo(self.score_dtype).tiny), 0.0)

    def _update(self, g: Tensor, norm: Tensor, count: Tensor) -> None:
        # The tensor path changes the per-slot tensors in place, so Python copies go stale.
        self._tensor_state("_priority")
        self._host_slots = None
        uniform = None
        if self.generator is not None:
            # Two draws per run and step, used or not, so the random stream
            # depends only on the number of steps.
            uniform = torch.rand(
                (self.S, 2), generator=self.generator, device=self.device, dtype=self.score_dtype
            )
        cosine = self._cosine_with_total(g, norm) if self.selection in ("cds", "css") else None
        finite = math.isfinite(norm.item()) if self._host_indexing else torch.isfinite(norm)
        store, replace, evict = policies.decide(
            self.selection,
            self.replacement,
            norm,
            finite,
            count == self.topC,
            self.priority,
            self.norms,
            self.age,
            self.occupied,
            uniform,
            cosine,
        )

        self._update_total(g, store, replace, evict)
        self._update_slots(norm, store, replace, evict)
        self._count_nonfinite(finite)
        self._finish_step()

    def _count_nonfinite(self, finite: Tensor | bool) -> None:
        if not self._host_indexing:
            self.nonfinite_steps += (~finite).to(torch.int64)
            return
        # Only the host path logs the warning, because elsewhere reading the
        # flag would cost a device synchronization.
        if finite:
            return
        self.nonfinite_steps += 1
        if not self._warned_nonfinite:
            logger.warning(
                "non-finite gradient at step %d was not stored in the critical-gradient buffer. "
                "Later ones are counted in nonfinite_steps without a warning.",
                self.steps + 1,
            )
            self._warned_nonfinite = True

    def _update_total(self, g: Tensor, store: Tensor, replace: Tensor, evict: Tensor) -> None:
        if self._host_indexing:
            if store.item():
                self.total.add_(g)
                if replace.item():
                    self.total.sub_(self._host_row(int(evict.item())))
            return
        # g_t already sits in the free slot. Selecting the zero row where a run
        # stores nothing (or evicts nothing) gives delta = g_t - g_evicted,
        # g_t - 0 = g_t or 0 - 0 = +0 per run, bit for bit what the two
        # torch.where calls of a masked update give, in two row selections
        # and one subtraction.
        rows = self._flat_rows()
        added = rows.index_select(0, self._flat_index(self.incoming, store))
        removed = rows.index_select(0, self._flat_index(evict, replace))
        self.total.add_(added.sub_(removed))

    def _update_slots(self, norm: Tensor, store: Tensor, replace: Tensor, evict: Tensor) -> None:
        # Vacant slots keep stale priorities, norms and ages, because every
        # reader masks them with ``occupied`` and a stale age never exceeds max_age.
        # Only a gradient stored without replacing anything adds an entry.
        self._count.add_(store ^ replace)
        incoming = self.incoming.unsqueeze(-1)
        leaving = torch.where(replace, evict, self.incoming).unsqueeze(-1)
        self.occupied.scatter_(1, leaving, False)
        self.occupied.scatter_(1, incoming, store.unsqueeze(-1))

        # The new entry starts at -1 so that the increment of every entry's age leaves it at 0.
        self.age.scatter_(1, incoming, -1)
        self.age.add_(self.occupied)

        column = norm.unsqueeze(-1)
        self.norms.scatter_(1, incoming, column)
        # Every priority, a just-stored one included, is multiplied by decay.
        self.priority.scatter_(1, incoming, column).mul_(self.decay)

        # A full buffer after a replacement has one free slot, the evicted one.
        # A filling buffer has never evicted, so its entries sit in slots
        # 0, ..., n - 1 and slot n comes next.
        self.incoming = torch.where(replace, evict, torch.where(store, self._count, self.incoming))
        torch.maximum(self.max_age, self.age.amax(dim=-1), out=self.max_age)

    def _finish_step(self) -> None:
        self.steps += 1
        if self.exact_sum_every and self.steps % self.exact_sum_every == 0 and self.topC > 0:
            self.recompute_total()
        if self.steps in self._record_steps:
            self.age_records.append((self.steps, self.ages()))

    @torch.no_grad()
    def recompute_total(self) -> None:
        """Recompute the running sum ``total`` from the stored entries."""
        if self._host_indexing:
            self.total.zero_()
            for slot in self.occupied[0].nonzero().flatten().tolist():
                self.total[0].add_(self.slots[0, slot])
            return
        # One slot at a time keeps the temporary at (S, d), and masking (rather
        # than multiplying by 0) ignores a non-finite gradient left in a free slot.
        total = torch.zeros_like(self.total)
        for slot in range(self.topC + 1):
            total += torch.where(self.occupied[:, slot].unsqueeze(-1), self.slots[:, slot], 0.0)
        self.total = total

    # -------------------------------------------------------- growth and state

    @torch.no_grad()
    def extend(self, d: int) -> None:
        """Grow every gradient to ``d`` coordinates; stored entries get zeros in the new ones."""
        d = require_int_at_least("d", d, self.d)
        if d == self.d:
            return
        extra = d - self.d
        self._set_slots(torch.cat([self.slots, self.slots.new_zeros((self.S, self.topC + 1, extra))], dim=-1))
        self.total = torch.cat([self.total, self.total.new_zeros((self.S, extra))], dim=-1)
        self.d = d

    def state_dict(self) -> dict:
        """Return every tensor, counter and random state needed to continue bit for bit."""
        return {
            "S": self.S,
            "d": self.d,
            "topC": self.topC,
            "decay": self.decay,
            "aggr": self.aggr,
            "selection": self.selection,
            "replacement": self.replacement,
            "exact_sum_every": self.exact_sum_every,
            "slots": self.slots.clone(),
            "total": self.total.clone(),
            "priority": self.priority.clone(),
            "norms": self.norms.clone(),
            "age": self.age.clone(),
            "occupied": self.occupied.clone(),
            "incoming": self.incoming.clone(),
            "max_age": self.max_age.clone(),
            "nonfinite_steps": self.nonfinite_steps.clone(),
            "steps": self.steps,
            "record_steps": sorted(self._record_steps),
            "age_records": [(step, ages.clone()) for step, ages in self.age_records],
            "generator_device_type": None if self.generator is None else self.generator.device.type,
            "generator_state": None if self.generator is None else self.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Load a :meth:`state_dict`, moving its tensors to this buffer's device and dtype.

        The hyperparameters and shapes must match. The random stream continues
        exactly when the saved generator was on the same device type. On
        another device type the generator is reseeded from the saved state, so
        runs still repeat but differ from the uninterrupted run.
        """
        for name in ("S", "d", "topC", "aggr", "selection", "replacement"):
            if state[name] != getattr(self, name):
                raise ValueError(
                    f"invalid state_dict: {name}={state[name]!r} was saved but this buffer has "
                    f"{name}={getattr(self, name)!r}; build the buffer with the saved value"
                )
        if float(state["decay"]) != self.decay:
            raise ValueError(
                f"invalid state_dict: decay={state['decay']!r} was saved but this buffer has "
                f"decay={self.decay!r}; build the buffer with the saved value"
            )

        def load(name: str, dtype: torch.dtype) -> Tensor:
            return state[name].to(device=self.device, dtype=dtype).clone()

        self._set_slots(load("slots", self.dtype))
        self.total = load("total", self.dtype)
        self.priority = load("priority", self.score_dtype)
        self.norms = load("norms", self.score_dtype)
        self.age = load("age", torch.int64)
        self.occupied = load("occupied", torch.bool)
        self._count = self.occupied.sum(dim=-1)
        self.incoming = load("incoming", torch.int64)
        self.max_age = load("max_age", torch.int64)
        self.nonfinite_steps = load("nonfinite_steps", torch.int64)
        self.steps = int(state["steps"])
        self.exact_sum_every = int(state["exact_sum_every"])
        self._record_steps = set(state["record_steps"])
        self.age_records = [(step, ages.to(self.device)) for step, ages in state["age_records"]]
        self._load_generator_state(state["generator_device_type"], state["generator_state"])

    def _load_generator_state(self, device_type: str | None, generator_state: Tensor | None) -> None:
        if generator_state is None:
            return
        if self.generator is None:
            self.generator = torch.Generator(device=self.device)
        if device_type == self.generator.device.type:
            self.generator.set_state(generator_state.cpu())
            return
        # NOTE: CPU and CUDA generators keep states of different formats, so
        # the stream restarts from a seed derived from the saved state.
        seed = int.from_bytes(bytes(generator_state.cpu().tolist()[:8]), "little") % 2**62
        logger.warning(
            "random state saved on %s cannot continue on %s; reseeding with %d",
            device_type,
            self.generator.device.type,
            seed,
        )
        self.generator.manual_seed(seed)


_HOST_SELECTIONS = frozenset({"norm", "bottomC", "fifo"})
_HOST_REPLACEMENTS = frozenset({"smallest", "largest", "oldest"})


@dataclass
class _HostSlots:
    """The per-slot state of a single-run buffer as Python lists, for the host path."""

    priority: list[float]
    norms: list[float]
    age: list[int]
    occupied: list[bool]
    incoming: int
    count: int
    max_age: int
    dirty: bool = False

    @classmethod
    def read(cls, buffer: BatchedCriticalBuffer) -> _HostSlots:
        return cls(
            buffer.priority[0].tolist(),
            buffer.norms[0].tolist(),
            buffer.age[0].tolist(),
            buffer.occupied[0].tolist(),
            int(buffer.incoming[0]),
            int(buffer._count[0]),
            int(buffer.max_age[0]),
        )

    def decide(self, selection: str, replacement: str, norm: float, finite: bool, topC: int) -> tuple[bool, bool, int]:
        """Return (store, replace, evict) as :func:`cgtheory.optim.policies.decide` does for the deterministic rules."""
        stored = [k for k, taken in enumerate(self.occupied) if taken]
        low = min((self.priority[k] for k in stored), default=math.inf)
        high = max((self.priority[k] for k in stored), default=-math.inf)
        if selection == "norm":
            admitted = norm > low
        elif selection == "bottomC":
            admitted = norm < high
        else:
            admitted = True
        full = self.count == topC
        store = (admitted or not full) and finite
        replace = store and full
        if not replace:
            return store, False, self.incoming

        if replacement == "oldest":
            candidates = stored
        else:
            target = low if replacement == "smallest" else high
            candidates = [k for k in stored if self.priority[k] == target]
        # Oldest first; max keeps the first slot among equal ages, as argmax does.
        return store, True, max(candidates, key=lambda k: self.age[k])

    def update(self, norm: float, store: bool, replace: bool, evict: int, decay: float) -> None:
        """Apply one step's bookkeeping exactly as the tensor path does (see ``_update_slots``)."""
        incoming = self.incoming
        self.count += store != replace
        self.occupied[evict if replace else incoming] = False
        self.occupied[incoming] = store
        self.age[incoming] = -1
        self.age = [age + 1 if taken else age for age, taken in zip(self.age, self.occupied)]
        self.norms[incoming] = norm
        self.priority[incoming] = norm
        self.priority = [priority * decay for priority in self.priority]
        if replace:
            self.incoming = evict
        elif store:
            self.incoming = self.count
        else:
            self.incoming = incoming
        self.max_age = max(self.max_age, max(self.age))
        self.dirty = True

    def write(self, buffer: BatchedCriticalBuffer) -> None:
        """Write these values into the buffer's tensors, which stay in step with them afterwards."""
        device = buffer.device
        state = buffer.__dict__
        state["_priority"] = torch.tensor([self.priority], dtype=buffer.score_dtype, device=device)
        state["_norms"] = torch.tensor([self.norms], dtype=buffer.score_dtype, device=device)
        state["_age"] = torch.tensor([self.age], dtype=torch.int64, device=device)
        state["_occupied"] = torch.tensor([self.occupied], dtype=torch.bool, device=device)
        state["_incoming"] = torch.tensor([self.incoming], dtype=torch.int64, device=device)
        state["_count_tensor"] = torch.tensor([self.count], dtype=torch.int64, device=device)
        state["_max_age"] = torch.tensor([self.max_age], dtype=torch.int64, device=device)
        self.dirty = False
