r"""The exact N-step worst case of a linear-system method, by performance estimation (PEPit).

For a schedule of systems (one per step), PEPit computes

    τ(N) = max ‖θ_N − θ*‖²  subject to  ‖θ_0 − θ*‖² <= 1,

over every µ-strongly convex, L-smooth f in every dimension, with the
method started at ξ_0 − ξ* = v ⊗ (θ_0 − θ*). The default v is the system's
``fixed_point``: the method starts at rest, with every stored iterate equal
to θ_0 and every stored gradient zero (for SGDC: an empty buffer read as
zeros, weights unchanged). :func:`cgtheory.rates.systems.sgdc_filling_schedule`
gives the other start, an empty buffer whose weights follow the number of
stored gradients.

τ(N) is a finite-horizon number, not a rate: a certified rate ρ with
constant c implies τ(N) <= c ρ^{2N} for every N, and sqrt(τ(N)/τ(N−1))
tends to the worst-case rate from above for large N, when it converges.
PEPit is optional (``pip install pepit``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cgtheory._validation import require_curvature_bounds, require_int_at_least
from cgtheory.rates.systems import LinearSystem

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PEPResult:
    """The N-step worst case of ‖θ_N − θ*‖² / ‖θ_0 − θ*‖².

    Attributes:
        value: the worst case τ(N) (NaN when the solve failed).
        steps: N.
        rate: τ(N)^{1/(2N)}, the average contraction per step over N steps.
        solver, status: as cvxpy reported them through PEPit.
        solve_time: wall-clock seconds.
        mu, L: the function class.
    """

    value: float
    steps: int
    rate: float
    solver: str
    status: str
    solve_time: float
    mu: float
    L: float


def _combine(coefficients, points, zero):
    total = None
    for coefficient, point in zip(coefficients, points):
        if coefficient == 0.0:
            continue
        term = float(coefficient) * point
        total = term if total is None else total + term
    return zero if total is None else total


def pep_worst_case(
    schedule: Sequence[LinearSystem] | LinearSystem,
    mu: float,
    L: float,
    steps: int | None = None,
    *,
    initial_direction: Sequence[float] | None = None,
    solver: str = "CLARABEL",
) -> PEPResult:
    """Compute τ(N) with PEPit (module docstring).

    Args:
        schedule: one system (run ``steps`` times) or the list of systems of steps 0..N-1.
        mu, L: the function class, 0 < µ <= L.
        steps: N; required with a single system, taken from the list otherwise.
        initial_direction: v with ξ_0 − ξ* = v ⊗ (θ_0 − θ*); default the system's fixed point.
        solver: the cvxpy solver PEPit uses.

    Raises:
        ImportError: when PEPit is not installed.
        ValueError: on invalid input.
    """
    import cvxpy as cp
    from PEPit import PEP
    from PEPit.functions import SmoothStronglyConvexFunction

    mu, L = require_curvature_bounds(mu, L)
    if isinstance(schedule, LinearSystem):
        if steps is None:
            raise ValueError("missing steps: a single system needs the number of steps N >= 1")
        schedule = [schedule] * require_int_at_least("steps", steps, 1)
    schedule = list(schedule)
    if not schedule:
        raise ValueError("invalid schedule=[]: need at least one step")
    first = schedule[0]
    for system in schedule:
        system.require_strictly_proper()
        if system.order != first.order:
            raise ValueError(f"invalid schedule: every system must have state dimension {first.order}")
    anchor = first.fixed_point
    if anchor is None:
        raise ValueError(f"invalid system {first.name}: PEP needs its fixed point v* (fixed_point is None)")
    direction = anchor if initial_direction is None else np.asarray(initial_direction, dtype=float).reshape(-1)
    if direction.shape != anchor.shape:
        raise ValueError(f"invalid initial_direction of length {direction.size}: need {anchor.size}")

    problem = PEP()
    function = problem.declare_function(SmoothStronglyConvexFunction, mu=mu, L=L)
    optimum = function.stationary_point()
    start = problem.set_initial_point()
    zero = 0.0 * start
    problem.set_initial_condition((start - optimum) ** 2 <= 1)

    # Absolute coordinates: ξ_0 = v ⊗ θ_0 + (v* − v) ⊗ θ*, and ξ* = v* ⊗ θ* is a fixed point (A v* = v*).
    state = [_combine([direction[i], anchor[i] - direction[i]], [start, optimum], zero) for i in range(first.order)]
    for system in schedule:
        point = _combine(system.C[0], state, zero)
        gradient = function.gradient(point)
        state = [_combine(list(system.A[i]) + [system.B[i, 0]], state + [gradient], zero) for i in range(system.order)]
    iterate = _combine(schedule[-1].iterate, state, zero)
    problem.set_performance_metric((iterate - optimum) ** 2)

    begin = time.perf_counter()
    try:
        value = float(problem.solve(verbose=0, solver=getattr(cp, solver.upper())))
        status = str(problem.wrapper.prob.status)
    except (cp.error.SolverError, AttributeError) as error:
        logger.warning("PEP solve failed: %s", error)
        value, status = float("nan"), "solver_error"
    elapsed = time.perf_counter() - begin

    N = len(schedule)
    rate = float(max(value, 0.0) ** (1.0 / (2 * N))) if np.isfinite(value) else float("nan")
    return PEPResult(value, N, rate, solver.upper(), status, elapsed, mu, L)
