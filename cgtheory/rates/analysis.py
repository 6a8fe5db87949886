r"""One entry point per analysis, and the step sizes each one certifies.

:func:`compute_rate` runs the analysis a method name selects and returns a
:class:`RateReport`, the record the command line prints.
:func:`certified_step_sizes` finds the α with a certified rate below 1,
searching up to the provable limit of :func:`stable_step_sizes`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cgtheory._validation import require_choice, require_curvature_bounds
from cgtheory.rates.iqc import iqc_rate
from cgtheory.rates.spectral import _crossing_curvatures, worst_case_spectral_radius
from cgtheory.rates.switching import switching_lower_bound, switching_lyapunov_rate
from cgtheory.rates.systems import LinearSystem

logger = logging.getLogger(__name__)

METHODS = ("spectral", "iqc", "pep")


@dataclass(frozen=True)
class RateReport:
    """The outcome of one analysis, as the command line reports it.

    Attributes:
        rate: the rate (+inf when none is certified).
        certified: whether ``rate`` is a proven upper bound below 1.
        method: ``spectral``, ``lyapunov``, ``iqc`` or ``pep``.
        lower: a lower end for the rate where the analysis gives one (NaN otherwise).
        function_class: ``quadratics`` or ``smooth strongly convex``.
        figures: further numbers (verification figures, solver, status, times).
        result: the underlying record.
    """

    rate: float
    certified: bool
    method: str
    lower: float
    function_class: str
    figures: dict = field(default_factory=dict)
    result: object = None


def compute_rate(
    method: str,
    systems: list[LinearSystem],
    mu: float,
    L: float,
    *,
    steps: int = 10,
    tolerance: float = 1e-5,
    solver: str | None = None,
) -> RateReport:
    """Run one analysis on the modes of a method.

    * ``spectral``: quadratics. One mode: the exact worst-case spectral
      radius. Several modes: the bracket [product lower bound, piecewise
      Lyapunov upper bound], with the upper bound as the rate.
    * ``iqc``: every µ-strongly convex, L-smooth f, one certificate shared by all modes.
    * ``pep``: the exact N-step worst case of a fixed-weight method (PEPit);
      a finite-horizon number, never reported as certified.
    """
    method = require_choice("method", method, METHODS)
    mu, L = require_curvature_bounds(mu, L)

    if method == "spectral" and len(systems) == 1:
        result = worst_case_spectral_radius(systems[0], mu, L)
        figures = {"worst_eta": result.worst_eta, "bisection_steps": result.iterations, "bracket": [result.lower, result.rate]}
        return RateReport(result.rate, result.certified and result.rate < 1.0, "spectral", result.lower, "quadratics", figures, result)

    if method == "spectral":
        lower = switching_lower_bound(systems, mu, L)
        upper = switching_lyapunov_rate(systems, mu, L, tolerance=max(tolerance, 1e-4), solver=solver)
        certificate = upper.certificate
        figures = {
            "lower_bound": lower.rate,
            "lower_bound_product": list(lower.product),
            "lower_bound_eta": lower.eta,
            "pieces": len(upper.pieces),
            "solver": upper.solver,
            "status": upper.status,
            "solve_time_s": upper.solve_time,
            "solves": len(upper.attempts),
            "modes": len(systems),
        }
        if certificate is not None:
            figures["min_eig_P"] = certificate.verification.min_eig_P
            figures["max_eig_lmi"] = certificate.verification.max_eig_lmi_raw
            figures["lmi_margin_required"] = certificate.verification.margin
        return RateReport(upper.rate, upper.certified, "lyapunov", lower.rate, "quadratics", figures, upper)

    if method == "iqc":
        result = iqc_rate(systems, mu, L, tolerance=tolerance, solver=solver)
        figures = result.figures()
        figures["modes"] = len(systems)
        return RateReport(result.rate, result.certified and result.rate < 1.0, "iqc", result.lower, "smooth strongly convex", figures, result)

    if len(systems) != 1:
        raise ValueError("invalid method='pep' with a switching buffer: pep analyzes one fixed-weight system")
    from cgtheory.rates.pep import pep_worst_case

    result = pep_worst_case(systems[0], mu, L, steps)
    figures = {
        "steps": result.steps,
        "worst_case_ratio": result.value,
        "solver": result.solver,
        "status": result.status,
        "solve_time_s": result.solve_time,
    }
    return RateReport(result.rate, False, "pep", float("nan"), "smooth strongly convex", figures, result)


def _stable_intervals(system: LinearSystem, eta: float) -> list[tuple[float, float]]:
    """Return the α-intervals where A + α η B̃ C is Schur stable (B = α B̃), exactly up to rounding."""
    a = np.poly(system.A)[::-1].real
    # det(zI − A − α η B̃ C) = a(z) − α b(z): B ∝ α, and the system was built at α = 1.
    b = a - np.poly(system.A + eta * system.B @ system.C)[::-1].real
    crossings = sorted({alpha for alpha in _crossing_curvatures(a, b, 1.0) if alpha > 0})
    if not crossings:
        raise ValueError(f"invalid system {system.name}: no stability boundary in alpha, cannot bound the search")
    edges = [0.0, *crossings]
    intervals = []
    for low, high in zip(edges[:-1], edges[1:]):
        middle = 0.5 * (low + high)
        if np.abs(np.linalg.eigvals(system.A + middle * eta * system.B @ system.C)).max() < 1.0:
            intervals.append((low, high))
    return intervals


def _intersect(first: list[tuple[float, float]], second: list[tuple[float, float]]) -> list[tuple[float, float]]:
    result = []
    for a_low, a_high in first:
        for b_low, b_high in second:
            low, high = max(a_low, b_low), min(a_high, b_high)
            if high > low:
                result.append((low, high))
    return result


def stable_step_sizes(
    build: Callable[[float], list[LinearSystem]], mu: float, L: float, *, curvatures: int = 17
) -> list[tuple[float, float]]:
    r"""Return α-intervals outside which every criterion's rate is >= 1.

    Every system built here has B ∝ α and A independent of α, so on the
    quadratic f(θ) = ηθ²/2 the characteristic polynomial of a mode is
    a(z) − α b(z), affine in α (:mod:`~cgtheory.rates.spectral`). Its roots
    meet the unit circle only at the finitely many α where a(z)/b(z) is real
    and positive on |z| = 1, so stability is constant between consecutive
    such α and is decided by one eigenvalue check at a midpoint; beyond the
    last one the mode is unstable, because b has degree below that of a and a
    root diverges as α → ∞. A rate below 1 on [µ, L] (quadratic, Lyapunov or
    IQC) needs every mode stable at every η ∈ [µ, L]. So the admissible α lie
    in the intersection of these stable sets, taken over the modes and over
    ``curvatures`` values of η spread geometrically over [µ, L]. A coarser η
    set only makes the intersection larger, never wrong.
    """
    mu, L = require_curvature_bounds(mu, L)
    etas = np.unique(np.geomspace(mu, L, curvatures)) if L > mu else np.array([mu])
    region = [(0.0, np.inf)]
    for system in build(1.0):
        for eta in etas:
            region = _intersect(region, _stable_intervals(system, float(eta)))
            if not region:
                return []
    return region


def _spectral_rate_function(build, mu, L, tolerance):
    def rate(alpha: float) -> float:
        systems = build(alpha)
        if len(systems) == 1:
            return worst_case_spectral_radius(systems[0], mu, L, tolerance=1e-9).rate
        bound = max(worst_case_spectral_radius(s, mu, L, tolerance=1e-9).lower for s in systems)
        if bound >= 1.0:
            return bound
        upper = switching_lyapunov_rate(systems, mu, L, pieces=2, refinements=2, tolerance=tolerance)
        return upper.rate if upper.certified else 1.0 + 1e-6

    return rate


def _iqc_rate_function(build, mu, L, tolerance, solver):
    def rate(alpha: float) -> float:
        result = iqc_rate(build(alpha), mu, L, tolerance=tolerance, solver=solver)
        if result.certified and result.rate < 1.0:
            return result.rate
        # Not certified: any value >= 1 marks α as inadmissible. brentq only needs the sign change.
        return max(result.quadratic_lower_bound, 1.0 + 1e-6)

    return rate


def certified_step_sizes(
    criterion: str,
    build: Callable[[float], list[LinearSystem]],
    mu: float,
    L: float,
    *,
    grid_points: int | None = None,
    tolerance: float = 1e-4,
    solver: str | None = None,
    progress=None,
):
    """Find the α-intervals whose certified rate is below 1, and the α of the smallest rate.

    Args:
        criterion: ``spectral`` (quadratics) or ``iqc`` (every smooth strongly convex f).
        build: α ↦ the modes of the method at step size α.
        mu, L: curvature bounds.
        grid_points: α values before refinement; default 400 for one spectral
            mode, 40 for IQC with one mode, 12 with several modes.
        tolerance: tolerance on ρ of each SDP bisection; the interval
            endpoints are found to ``tolerance`` × (the search range).
        solver: SDP solver, None for Clarabel with SCS on failure.
        progress: optional wrapper such as ``tqdm.tqdm`` for the grid loop.

    Returns:
        A :class:`cgtheory.stepsizes.StepSizeRegion` over (0, alpha_max], where
        alpha_max is the right end of :func:`stable_step_sizes`.
    """
    from cgtheory.stepsizes import admissible_step_sizes

    criterion = require_choice("criterion", criterion, ("spectral", "iqc"))
    mu, L = require_curvature_bounds(mu, L)
    stable = stable_step_sizes(build, mu, L)
    if stable:
        alpha_max = stable[-1][1] * (1.0 + 1e-9)
    else:
        # No α keeps every mode stable on every sampled curvature: search a token range, which finds nothing.
        alpha_max = 2.0 / L
    breakpoints = [edge for interval in stable for edge in interval if edge > 0]
    switching = len(build(alpha_max / 2)) > 1
    if criterion == "spectral":
        rate = _spectral_rate_function(build, mu, L, tolerance)
        default_points = 12 if switching else 400
        endpoint_tolerance = (tolerance if switching else 1e-10) * alpha_max
    else:
        rate = _iqc_rate_function(build, mu, L, tolerance, solver)
        default_points = 12 if switching else 40
        endpoint_tolerance = tolerance * alpha_max
    region = admissible_step_sizes(
        rate,
        alpha_max,
        breakpoints=breakpoints,
        grid_points=grid_points or default_points,
        tolerance=endpoint_tolerance,
        progress=progress,
    )
    region.notes.append(
        f"alpha_max = {alpha_max:.6g}: beyond it some quadratic with curvature in [mu, L] makes a mode "
        "unstable, so no rate is below 1"
    )
    return region
