"""Admissible step sizes: the set of α > 0 where a rate is below 1.

The search evaluates the rate on a grid of α values, refines every crossing
of the threshold with :func:`scipy.optimize.brentq`, and refines the smallest
rate with :func:`scipy.optimize.minimize_scalar`. It works for any rate
function of α (Theorem 1's q, a spectral radius, a certified IQC rate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from cgtheory._validation import require_int_at_least, require_positive
from cgtheory.contraction import contraction_factor


@dataclass(frozen=True)
class StepSizeRegion:
    """The α-intervals where a rate is below ``threshold``, and the best α found.

    Attributes:
        intervals: open intervals (low, high) with rate(α) < threshold inside,
            endpoints accurate to ``tolerance``; empty when there are none.
            A low end of 0.0 means the interval reaches down to α → 0.
        best_alpha, best_rate: the α of smallest rate on (0, alpha_max] and that rate.
        alpha_max: the right end of the searched range.
        grid_points: the number of α values evaluated before refinement.
        tolerance: the absolute accuracy of the interval endpoints.
        threshold: the rate the intervals stay below (1 for convergence).
    """

    intervals: list[tuple[float, float]]
    best_alpha: float
    best_rate: float
    alpha_max: float
    grid_points: int
    tolerance: float
    threshold: float = 1.0
    notes: list[str] = field(default_factory=list)


def admissible_step_sizes(
    rate: Callable[[float], float],
    alpha_max: float,
    *,
    breakpoints: Iterable[float] = (),
    grid_points: int = 2001,
    tolerance: float = 1e-10,
    threshold: float = 1.0,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> StepSizeRegion:
    """Find the α ∈ (0, alpha_max] where ``rate(α) < threshold``.

    Args:
        rate: the rate as a function of the step size.
        alpha_max: right end of the search. The caller must know that no
            admissible α lies beyond it (for a gradient step on curvature µ,
            α >= 2/µ already gives a rate >= 1).
        breakpoints: α values where the rate has a kink (added to the grid).
        grid_points: number of α values in (0, alpha_max]: half equally spaced,
            half geometrically spaced from alpha_max·1e-6, so both the scale
            1/L and the scale 1/µ are resolved when L/µ is large.
        tolerance: absolute accuracy of each interval endpoint.
        threshold: the level the rate must stay below.
        progress: optional wrapper such as ``tqdm.tqdm`` for the grid loop.

    NOTE: an admissible interval narrower than the local grid spacing can be
    missed; raise ``grid_points`` when the rate is known to have narrow dips.
    An interval reported with low end 0.0 is one whose rate is below the
    threshold at the smallest grid point, alpha_max·1e-6; below that point
    the rate is not evaluated.
    """
    alpha_max = require_positive("alpha_max", alpha_max)
    grid_points = require_int_at_least("grid_points", grid_points, 2)
    tolerance = require_positive("tolerance", tolerance)

    extra = [b for b in breakpoints if 0.0 < b <= alpha_max]
    linear = np.linspace(alpha_max / grid_points, alpha_max, grid_points - grid_points // 2)
    geometric = np.geomspace(alpha_max * 1e-6, alpha_max, grid_points // 2)
    grid = np.unique(np.concatenate([linear, geometric, extra]))
    points = progress(grid) if progress is not None else grid
    values = np.array([rate(float(alpha)) for alpha in points]) - threshold

    def excess(alpha: float) -> float:
        return rate(alpha) - threshold

    intervals: list[tuple[float, float]] = []
    low = 0.0 if values[0] < 0 else None
    for i in range(1, grid.size):
        before, after = values[i - 1] < 0, values[i] < 0
        if before == after:
            continue
        crossing = optimize.brentq(excess, grid[i - 1], grid[i], xtol=tolerance)
        if after:
            low = crossing
        else:
            intervals.append((low, crossing))
            low = None
    if low is not None:
        intervals.append((low, float(grid[-1])))

    best = int(np.argmin(values))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
    best_alpha, best_rate = float(grid[best]), float(values[best] + threshold)
    if hi > lo:
        refined = optimize.minimize_scalar(rate, bounds=(lo, hi), method="bounded", options={"xatol": tolerance})
        if refined.fun < best_rate:
            best_alpha, best_rate = float(refined.x), float(refined.fun)

    return StepSizeRegion(
        [(float(a), float(b)) for a, b in intervals],
        best_alpha,
        best_rate,
        alpha_max,
        grid_points,
        tolerance,
        threshold,
    )


def theorem1_step_sizes(
    K: int, mu: float, L: float, form: str = "companion", *, grid_points: int = 4001, tolerance: float = 1e-10
) -> StepSizeRegion:
    """Find the α with Theorem 1's q(α, K) < 1.

    The search covers (0, 2/µ]: q(α, K) >= |1 - αµ| >= 1 for every α >= 2/µ,
    so no admissible α lies beyond. The kinks of q (α = 2/(µ+L), where the
    maximizing η_0 switches from µ to L) are added to the grid.
    """
    mu = require_positive("mu", mu)
    L = require_positive("L", L)
    contraction_factor(1.0 / L, K, mu, L, form)  # validates K, mu <= L and form

    def rate(alpha: float) -> float:
        return contraction_factor(alpha, K, mu, L, form).q

    return admissible_step_sizes(
        rate,
        2.0 / mu,
        breakpoints=(2.0 / (mu + L), 1.0 / L, 1.0 / mu, 2.0 / L),
        grid_points=grid_points,
        tolerance=tolerance,
    )
