r"""Theorem 1's bound on ‖θ_{t+1} - θ*‖².

Theorem 1 states, for q = q(α, K) < 1,

    ‖θ_{t+1} - θ*‖² <= q^{2t} ‖θ_1 - θ*‖² + α² K σ² / (1 - q²).

For q >= 1 the statement gives no bound: the noise term is negative or
undefined and the first term does not decay. The theorem writes the bound
without an expectation although θ_t is random; read it as a bound on
E‖θ_{t+1} - θ*‖², the only reading under which a noise floor can hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cgtheory._validation import require_int_at_least, require_nonnegative, require_positive


@dataclass(frozen=True)
class Theorem1Bound:
    """Theorem 1's bound as a curve.

    Attributes:
        t: iteration indices t >= 0; ``values[i]`` bounds ‖θ_{t+1} - θ*‖² at t = t[i].
        values: the bound, or +inf everywhere when it does not apply.
        applies: False when q >= 1.
        reason: why the bound does not apply, empty when it does.
        noise_floor: α²Kσ²/(1 - q²), the limit of the bound (inf when it does not apply).
    """

    t: np.ndarray
    values: np.ndarray
    applies: bool
    reason: str
    noise_floor: float


def theorem1_bound(
    steps: int, *, q: float, alpha: float, K: int, sigma2: float, initial_distance_sq: float
) -> Theorem1Bound:
    """Evaluate Theorem 1's bound for t = 0, ..., steps - 1.

    Args:
        steps: number of points of the curve.
        q: the contraction factor q(α, K) (from :func:`cgtheory.contraction.contraction_factor`).
        alpha: step size α > 0.
        K: staleness bound K >= 1.
        sigma2: gradient-noise variance bound σ² >= 0.
        initial_distance_sq: ‖θ_1 - θ*‖² >= 0.
    """
    steps = require_int_at_least("steps", steps, 1)
    q = require_nonnegative("q", q)
    alpha = require_positive("alpha", alpha)
    K = require_int_at_least("K", K, 1)
    sigma2 = require_nonnegative("sigma2", sigma2)
    initial_distance_sq = require_nonnegative("initial_distance_sq", initial_distance_sq)

    t = np.arange(steps)
    if q >= 1.0:
        reason = f"q(alpha, K) = {q:.6g} >= 1, so Theorem 1 gives no bound"
        return Theorem1Bound(t, np.full(steps, np.inf), False, reason, float("inf"))

    noise_floor = alpha**2 * K * sigma2 / (1.0 - q**2)
    values = q ** (2.0 * t) * initial_distance_sq + noise_floor
    return Theorem1Bound(t, values, True, "", noise_floor)
