r"""Critical-gradient optimizers for PyTorch.

"Memory Augmented Optimizers for Deep Learning" (McRae, Parthasarathi,
Assran and Chandar, ICLR 2022) gives any first-order optimizer O a buffer g_c
of at most topC past gradients, each stored with a priority p_k. With
g_t = ∇L(θ_t) and n ≤ topC entries g_1, ..., g_n in the buffer, one step is

    θ_{t+1} = O(aggr(g_t, g_c), θ_t)                           (Algorithm 1)

    mean(g_t, g_c) = (g_t + Σ_k g_k) / (n + 1)                 (Eq. 2)
    sum(g_t, g_c)  = g_t + (Σ_k g_k) / n                       (Eq. 3)

computed from the buffer before the step (with n = 0 both are g_t). Then

    if n < topC:                    store (g_t, p = ‖g_t‖₂)
    elif ‖g_t‖₂ > min_k p_k:        replace argmin_k p_k by (g_t, ‖g_t‖₂)
    p_k ← decay · p_k for every entry, the one just stored included,

so an entry of age a (steps since it was stored) has p = ‖g_k‖₂·decay^(a+1),
while the stored gradient itself never changes. Among equal priorities the
oldest entry leaves first, so with decay = 0 the buffer contains the last
topC gradients.

Contents:

- :class:`CriticalGradients` wraps any torch.optim optimizer;
  :class:`SGDC`, :class:`SGDMC`, :class:`RMSpropC` and :class:`AdamC` are
  SGD, SGD with momentum, RMSprop and Adam so wrapped (Eqs. 1, 4, 5, 6).
- :class:`BatchedCriticalBuffer` is the buffer for S independent runs in one
  tensor program; the optimizers use it with S = 1. With the step functions
  of :mod:`cgtheory.optim.batched` it simulates thousands of runs at once.
- :mod:`cgtheory.optim.policies` contains the selection, replacement and
  aggregation rules, the defaults above and the ablations of Section 6 and
  Appendix F.9.
"""

from cgtheory.optim.batched import (
    BatchedCriticalOptimizer,
    batched_adam_step,
    batched_momentum_step,
    batched_rmsprop_step,
    batched_sgd_step,
)
from cgtheory.optim.buffer import BatchedCriticalBuffer, BufferSnapshot
from cgtheory.optim.optimizers import SGDC, SGDMC, AdamC, RMSpropC
from cgtheory.optim.policies import AGGREGATIONS, REPLACEMENTS, SELECTIONS
from cgtheory.optim.wrapper import CriticalGradients

__all__ = [
    "AGGREGATIONS",
    "REPLACEMENTS",
    "SELECTIONS",
    "AdamC",
    "BatchedCriticalBuffer",
    "BatchedCriticalOptimizer",
    "BufferSnapshot",
    "CriticalGradients",
    "RMSpropC",
    "SGDC",
    "SGDMC",
    "batched_adam_step",
    "batched_momentum_step",
    "batched_rmsprop_step",
    "batched_sgd_step",
]
