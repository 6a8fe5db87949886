r"""Decision rules of the critical-gradient buffer, shared by every code path.

Every function here works on small per-slot tensors shaped (S, P): S
independent runs, each with P = topC + 1 physical slots (topC entries and
one free slot that receives the incoming gradient). The single-run optimizer
calls them with S = 1, so the optimizer and the batched simulator take the
same decisions from the same code.

Selection (whether g_t enters a full buffer), replacement (which entry leaves
when it does) and aggregation (what the base optimizer receives) follow
Section 2 and Appendix F.9 of "Memory Augmented Optimizers for Deep Learning"
(McRae, Parthasarathi, Assran and Chandar, ICLR 2022). Where F.9 leaves a rule
open, the reading chosen here is stated at the rule.

Ties are broken deterministically: among entries with equal keys the oldest
(largest age) is chosen. With decay = 0 every priority is 0 after one step,
so this rule turns the default buffer into a first-in first-out window.
"""

from __future__ import annotations

import torch
from torch import Tensor

from cgtheory._validation import require_choice

SELECTIONS = ("norm", "bottomC", "fifo", "coin_toss", "mnds", "cds", "css")
"""Admission rules for a full buffer.

- ``norm``: "king of the hill", the paper's default. g_t enters when
  ‖g_t‖ > the smallest priority in the buffer.
- ``bottomC``: the mirror image, keeping small gradients. g_t enters when
  ‖g_t‖ < the largest priority.
- ``fifo``: g_t always enters.
- ``coin_toss``: g_t enters with probability 1/2.
- ``mnds`` (mean-norm diversity sampling): g_t enters with probability
  min(1, |‖g_t‖ - µ| / µ), µ the mean of the stored gradients' own norms.
  F.9 only requires a likelihood proportional to |‖g_t‖ - µ|. Dividing by µ
  makes it scale-free, and clipping keeps it in [0, 1]. When µ = 0 the
  probability is 1 for a nonzero g_t and 0 otherwise.
- ``cds`` (cosine diversity sampling): probability (1 - cos) / 2.
- ``css`` (cosine similarity sampling): probability (1 + cos) / 2.
  Here cos is the cosine between g_t and the sum of the stored gradients
  (0 when either is zero). F.9 describes the likelihood as "proportional" and
  "antiproportional" to the cosine but does not name the other vector.
  Comparing with the buffer's sum costs O(d) per step, and the affine map
  from [-1, 1] onto [0, 1] keeps the probability valid where a literal 1/cos
  would not.

Every rule applies only when the buffer is full. Until then each finite
gradient is stored, as in Algorithm 1 of the paper.
"""

REPLACEMENTS = ("smallest", "largest", "oldest", "random", "ncpr")
"""Eviction rules, applied when g_t enters a full buffer.

- ``smallest``: the entry of smallest priority (the default of ``norm``).
- ``largest``: the entry of largest priority (the default of ``bottomC``).
- ``oldest``: the entry of largest age (the default of ``fifo``).
- ``random`` (RR): an entry drawn uniformly.
- ``ncpr`` (norm-controlled probabilistic replacement): entry k with
  probability p_k / Σ_i p_i, p the decayed priorities (the paper's proxy
  norms). When every priority is 0 (decay = 0) the draw is uniform.
"""

AGGREGATIONS = ("mean", "sum", "min_norm", "max_norm", "median_norm")
r"""Aggregation rules: the vector the base optimizer receives, from the buffer as it was before the step.

With n stored entries g_1, ..., g_n (n may be below topC while the buffer fills):

- ``mean`` (Eq. 2): (g_t + Σ_k g_k) / (n + 1).
- ``sum`` (Eq. 3): g_t + (Σ_k g_k) / n.
- ``min_norm``, ``max_norm``, ``median_norm``: (g_t + g_sel) / 2, where g_sel
  is the stored gradient of smallest, largest or median own norm. The median
  is the lower one when n is even, and ties go to the oldest. This is Eq. 2 with the
  buffer reduced to one selected gradient. Keeping g_t in the update keeps
  Theorem 1's weight 1 - αη_0 on the current gradient, and the update never
  sits on one stale gradient. Section 6 contrasts these rules with the
  ensemble mean, and they differ from it only in which buffer term enters.

With n = 0 every aggregation returns g_t.
"""

DEFAULT_REPLACEMENT = {
    "norm": "smallest",
    "bottomC": "largest",
    "fifo": "oldest",
    "coin_toss": "smallest",
    "mnds": "smallest",
    "cds": "smallest",
    "css": "smallest",
}

RANDOM_SELECTIONS = frozenset({"coin_toss", "mnds", "cds", "css"})
RANDOM_REPLACEMENTS = frozenset({"random", "ncpr"})
LINEAR_AGGREGATIONS = frozenset({"mean", "sum"})


def resolve_policies(aggr: str, selection: str, replacement: str | None) -> tuple[str, str, str]:
    """Validate the three policy names and fill in the selection's default replacement."""
    aggr = require_choice("aggr", aggr, AGGREGATIONS)
    selection = require_choice("selection", selection, SELECTIONS)
    if replacement is None:
        replacement = DEFAULT_REPLACEMENT[selection]
    replacement = require_choice("replacement", replacement, REPLACEMENTS)
    return aggr, selection, replacement


def needs_random(selection: str, replacement: str) -> bool:
    """Return whether the policy pair draws random numbers."""
    return selection in RANDOM_SELECTIONS or replacement in RANDOM_REPLACEMENTS


def _oldest_among(candidates: Tensor, age: Tensor) -> Tensor:
    """Return, per run, the slot of largest age among ``candidates`` (S, P) bool."""
    return torch.where(candidates, age, -1).argmax(dim=-1)


class _PriorityExtremes:
    """The smallest and largest priority of the stored entries, computed once per step and shared.

    Vacant slots count as +inf for the minimum and -inf for the maximum.
    """

    def __init__(self, priority: Tensor, occupied: Tensor) -> None:
        self.priority = priority
        self.vacant = ~occupied
        self._low: tuple[Tensor, Tensor] | None = None
        self._high: tuple[Tensor, Tensor] | None = None

    def low(self) -> tuple[Tensor, Tensor]:
        """Return (masked priorities, their minimum with keepdim)."""
        if self._low is None:
            masked = self.priority.masked_fill(self.vacant, float("inf"))
            self._low = masked, masked.amin(dim=-1, keepdim=True)
        return self._low

    def high(self) -> tuple[Tensor, Tensor]:
        """Return (masked priorities, their maximum with keepdim)."""
        if self._high is None:
            masked = self.priority.masked_fill(self.vacant, float("-inf"))
            self._high = masked, masked.amax(dim=-1, keepdim=True)
        return self._high


def extreme_slot(values: Tensor, age: Tensor, occupied: Tensor, *, largest: bool) -> Tensor:
    """Return, per run, the occupied slot of smallest (or largest) value, the oldest among ties.

    Runs with an empty buffer get an arbitrary slot; callers mask them out.
    """
    extremes = _PriorityExtremes(values, occupied)
    masked, target = extremes.high() if largest else extremes.low()
    return _oldest_among(masked == target, age)


def median_slot(values: Tensor, age: Tensor, occupied: Tensor) -> Tensor:
    """Return, per run, the occupied slot of lower-median value.

    Entries are ordered by value, older first among equal values, and the
    entry at position (n - 1) // 2 of that order is returned.
    """
    # Sort by age descending first, then stably by value, so equal values keep
    # the older entry first. Empty slots get +inf and land after every entry.
    by_age = torch.argsort(age.masked_fill(~occupied, -1), dim=-1, descending=True, stable=True)
    values_by_age = values.masked_fill(~occupied, float("inf")).gather(-1, by_age)
    by_value = torch.argsort(values_by_age, dim=-1, stable=True)
    order = by_age.gather(-1, by_value)

    count = occupied.sum(dim=-1)
    position = ((count - 1).clamp_min(0) // 2).unsqueeze(-1)
    return order.gather(-1, position).squeeze(-1)


def _admits_deterministically(selection: str, norm: Tensor, extremes: _PriorityExtremes) -> Tensor | None:
    """Return the (S,) bool admission of ``norm``, ``bottomC`` and ``fifo``, or None for the random rules."""
    if selection == "norm":
        return norm > extremes.low()[1].squeeze(-1)
    if selection == "bottomC":
        return norm < extremes.high()[1].squeeze(-1)
    if selection == "fifo":
        return torch.ones_like(norm, dtype=torch.bool)
    return None


def admission_probability(
    selection: str,
    norm: Tensor,
    priority: Tensor,
    norms: Tensor,
    occupied: Tensor,
    cosine: Tensor | None = None,
    *,
    extremes: _PriorityExtremes | None = None,
) -> Tensor:
    """Return, per run, the probability in [0, 1] that g_t enters a full buffer.

    Args:
        selection: one of :data:`SELECTIONS`.
        norm: ‖g_t‖, shape (S,), float64.
        priority: decayed priorities, shape (S, P).
        norms: the stored gradients' own norms, shape (S, P).
        occupied: which slots hold an entry, shape (S, P).
        cosine: cos(g_t, Σ_k g_k), shape (S,); needed by ``cds`` and ``css``.
    """
    if extremes is None:
        extremes = _PriorityExtremes(priority, occupied)
    admitted = _admits_deterministically(selection, norm, extremes)
    if admitted is not None:
        return admitted.to(norm.dtype)

    if selection == "coin_toss":
        return torch.full_like(norm, 0.5)

    if selection == "mnds":
        count = occupied.sum(dim=-1).clamp_min(1)
        mean_norm = norms.masked_fill(~occupied, 0.0).sum(dim=-1) / count
        relative = (norm - mean_norm).abs() / mean_norm
        at_zero_mean = (norm > 0).to(norm.dtype)
        return torch.where(mean_norm > 0, relative.clamp(0.0, 1.0), at_zero_mean)

    if cosine is None:
        raise ValueError(f"selection={selection!r} needs the cosine between g_t and the buffer sum")
    if selection == "cds":
        return ((1.0 - cosine) / 2.0).clamp(0.0, 1.0)
    if selection == "css":
        return ((1.0 + cosine) / 2.0).clamp(0.0, 1.0)
    raise ValueError(f"invalid selection={selection!r}: selection must be one of {', '.join(SELECTIONS)}")


def _draw_weighted(weights: Tensor, uniform: Tensor) -> Tensor:
    """Return, per run, a slot drawn with probability proportional to ``weights`` (S, P).

    ``uniform`` (S,) in [0, 1) is inverted through the cumulative weights, so
    one uniform number per run decides the draw.
    """
    cumulative = weights.cumsum(dim=-1)
    target = (uniform * cumulative[:, -1]).unsqueeze(-1)
    slot = torch.searchsorted(cumulative, target, right=True).squeeze(-1)

    # Rounding can put target at the total, so fall back to the last weighted slot.
    positive = weights > 0
    last_positive = weights.shape[-1] - 1 - positive.flip(-1).to(torch.uint8).argmax(dim=-1)
    return torch.minimum(slot, last_positive)


def eviction_slot(
    replacement: str,
    priority: Tensor,
    age: Tensor,
    occupied: Tensor,
    uniform: Tensor | None = None,
    *,
    extremes: _PriorityExtremes | None = None,
) -> Tensor:
    """Return, per run, the slot that leaves when g_t enters a full buffer.

    Args:
        replacement: one of :data:`REPLACEMENTS`.
        priority, age, occupied: the per-slot state, shape (S, P).
        uniform: one number in [0, 1) per run, needed by ``random`` and ``ncpr``.
    """
    if extremes is None:
        extremes = _PriorityExtremes(priority, occupied)
    if replacement == "smallest":
        masked, smallest = extremes.low()
        return _oldest_among(masked == smallest, age)
    if replacement == "largest":
        masked, largest = extremes.high()
        return _oldest_among(masked == largest, age)
    if replacement == "oldest":
        return _oldest_among(occupied, age)

    if uniform is None:
        raise ValueError(f"replacement={replacement!r} needs one uniform random number per run")
    uniform_weights = occupied.to(priority.dtype)
    if replacement == "random":
        return _draw_weighted(uniform_weights, uniform)
    if replacement == "ncpr":
        weights = priority.masked_fill(~occupied, 0.0)
        all_zero = (weights.sum(dim=-1, keepdim=True) <= 0).expand_as(weights)
        return _draw_weighted(torch.where(all_zero, uniform_weights, weights), uniform)
    raise ValueError(
        f"invalid replacement={replacement!r}: replacement must be one of {', '.join(REPLACEMENTS)}"
    )


def decide(
    selection: str,
    replacement: str,
    norm: Tensor,
    finite: Tensor | bool,
    full: Tensor,
    priority: Tensor,
    norms: Tensor,
    age: Tensor,
    occupied: Tensor,
    uniform: Tensor | None = None,
    cosine: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Return (store, replace, evict) for one step of every run.

    store (S,) bool is True where g_t enters the buffer, which it does when its
    norm is finite and the buffer is not full or the selection admits it.
    replace (S,) bool is True where g_t enters a full buffer, so the entry in
    slot evict (S,) int64 leaves.
    ``finite`` (S,) bool, or one bool for a single run, is True where ‖g_t‖
    is finite. ``uniform`` (S, 2) contains the two draws of the random rules,
    column 0 for admission and column 1 for eviction.
    """
    extremes = _PriorityExtremes(priority, occupied)
    admitted = _admits_deterministically(selection, norm, extremes)
    if admitted is None:
        probability = admission_probability(selection, norm, priority, norms, occupied, cosine, extremes=extremes)
        admitted = uniform[:, 0] < probability

    store = admitted | ~full
    # A non-finite gradient never enters. A single run passes a Python bool, which spares an operation.
    if finite is not True:
        store = store & finite
    replace = store & full
    evict = eviction_slot(
        replacement, priority, age, occupied, None if uniform is None else uniform[:, 1], extremes=extremes
    )
    return store, replace, evict


def aggregation_weights(aggr: str, count):
    """Return (a, b) with aggr(g_t, buffer) = a·g_t + b·v, for n = ``count`` stored entries.

    For ``mean`` and ``sum``, v is the sum of the stored gradients. For the
    single-gradient aggregations, v is the selected stored gradient. ``count``
    may be a Python int (giving floats) or an (S,) integer tensor (giving
    float64 tensors); the same expressions serve both. With n = 0, a = 1 and
    v contributes nothing: mean and the single-gradient rules give b = 0 or
    use v = 0, and for sum b = 1 multiplies the empty sum, which is exactly 0.
    """
    if isinstance(count, Tensor):
        count = count.to(torch.float64)
        empty = (count == 0).to(torch.float64)
    else:
        empty = float(count == 0)
    if aggr == "mean":
        weight = 1.0 / (count + 1.0)
        return weight, weight
    if aggr == "sum":
        return 1.0 + 0.0 * count, 1.0 / (count + empty)
    return 0.5 + 0.5 * empty, 0.5 - 0.5 * empty


def selected_slot(aggr: str, norms: Tensor, age: Tensor, occupied: Tensor) -> Tensor:
    """Return, per run, the stored gradient that ``min_norm``, ``max_norm`` or ``median_norm`` uses."""
    if aggr == "min_norm":
        return extreme_slot(norms, age, occupied, largest=False)
    if aggr == "max_norm":
        return extreme_slot(norms, age, occupied, largest=True)
    if aggr == "median_norm":
        return median_slot(norms, age, occupied)
    raise ValueError(f"aggr={aggr!r} does not select a single stored gradient")
