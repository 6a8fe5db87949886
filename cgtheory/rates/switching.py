r"""Bounds on the worst-case rate of a switching method over quadratics.

A switching method runs one of finitely many modes (A_i, B_i, C, 0) at each
step, SGDC with a changing buffer for example. On a quadratic with curvature
η the modes are the matrices M_i(η) = A_i + η B_i C, and the worst-case rate
over all switching sequences is their joint spectral radius JSR(η).

Model: a quadratic objective is fixed while the method runs, so all modes of
a product share one η (along each eigenvector of the Hessian). The bracket
below is for sup_{η ∈ [µ, L]} JSR(η). The upper bound also holds when η may
change from step to step, because its certificate holds for every η of a
piece at once. The lower bound does not cover that larger model.

* :func:`switching_lower_bound`: JSR(η) >= ρ(M_{i_1}(η) ··· M_{i_k}(η))^{1/k}
  for any product, so the maximum over products up to a length and over a set
  of η is a lower bound. No grid has to be exhaustive for a lower bound.
* :func:`switching_lyapunov_rate`: a common quadratic Lyapunov function. For
  fixed P ⪰ 0 the map η ↦ xᵀ M_i(η)ᵀ P M_i(η) x is a convex quadratic in η
  (its η² coefficient is ‖P^{1/2} B_i C x‖² >= 0), so its maximum over a
  piece [η_a, η_b] sits at an endpoint. Imposing M_i(η)ᵀ P M_i(η) ⪯ ρ² P at
  η_a and η_b for every mode therefore certifies the whole piece. (In the
  Schur-complement form [[ρ² P, M(η)ᵀ P], [P M(η), P]] ⪰ 0 the same fact
  reads: the LMI is affine in η, and convexity covers the interval.) Each
  piece gets its own P: along each eigenvector of the Hessian the state
  evolves on its own, so V = Σ_j ξ_jᵀ P_{piece(η_j)} ξ_j is a Lyapunov
  function for the whole d-dimensional quadratic.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from cgtheory._validation import require_curvature_bounds, require_int_at_least, require_positive
from cgtheory.rates.sdp import Bisection, Certificate, LMIFamily, SolveAttempt, bisect_rate
from cgtheory.rates.spectral import worst_case_spectral_radius
from cgtheory.rates.systems import LinearSystem

logger = logging.getLogger(__name__)


def _modes(systems) -> list[LinearSystem]:
    systems = list(systems) if not isinstance(systems, LinearSystem) else [systems]
    if not systems:
        raise ValueError("invalid systems=[]: need at least one mode")
    n = systems[0].order
    for system in systems:
        system.require_strictly_proper()
        if system.order != n:
            raise ValueError(f"invalid mode {system.name}: every mode must have state dimension {n}")
    return systems


@dataclass(frozen=True)
class SwitchingLowerBound:
    """A lower bound on sup_η JSR({M_i(η)}) from one product of modes.

    Attributes:
        rate: ρ(product)^{1/length}, a lower bound on the worst-case rate.
        product: indices of the modes in the product (applied right to left).
        eta: the curvature of the product.
        length: the number of factors.
        products_checked: the number of (product, η) pairs evaluated.
    """

    rate: float
    product: tuple[int, ...]
    eta: float
    length: int
    products_checked: int


def _necklaces(count: int, length: int):
    """Yield one rotation of each cyclic sequence (its lexicographically smallest one)."""
    for word in itertools.product(range(count), repeat=length):
        if all(word <= word[i:] + word[:i] for i in range(1, length)):
            yield word


def switching_lower_bound(
    systems: Sequence[LinearSystem],
    mu: float,
    L: float,
    *,
    max_length: int = 3,
    eta_points: int = 9,
    max_evaluations: int = 300_000,
) -> SwitchingLowerBound:
    """Bound the worst-case switching rate from below by products of modes.

    Products of length 1 use each mode's exact worst η
    (:func:`~cgtheory.rates.spectral.worst_case_spectral_radius`). Longer
    products are evaluated on ``eta_points`` curvatures spread over [µ, L]
    together with those worst η. The best product's η is then refined by a
    bounded scalar maximization. Lengths stop growing when the next one
    would exceed ``max_evaluations`` (product, η) pairs.
    """
    systems = _modes(systems)
    mu, L = require_curvature_bounds(mu, L)
    max_length = require_int_at_least("max_length", max_length, 1)
    eta_points = require_int_at_least("eta_points", eta_points, 2)

    best = SwitchingLowerBound(-np.inf, (), mu, 0, 0)
    worst_etas = []
    for index, system in enumerate(systems):
        single = worst_case_spectral_radius(system, mu, L, tolerance=1e-9)
        worst_etas.append(single.worst_eta)
        if single.lower > best.rate:
            best = SwitchingLowerBound(single.lower, (index,), single.worst_eta, 1, 0)
    checked = len(systems)

    etas = np.unique(np.concatenate([np.linspace(mu, L, eta_points), worst_etas]))
    gains = np.stack([s.B @ s.C for s in systems])
    bases = np.stack([s.A for s in systems])
    for length in range(2, max_length + 1):
        words = list(_necklaces(len(systems), length))
        if len(words) * etas.size > max_evaluations:
            logger.info("switching lower bound stops at length %d: %d products", length - 1, len(words))
            break
        words_array = np.array(words)
        for eta in etas:
            matrices = bases + eta * gains
            products = matrices[words_array[:, 0]]
            for position in range(1, length):
                products = matrices[words_array[:, position]] @ products
            radii = np.abs(np.linalg.eigvals(products)).max(axis=1) ** (1.0 / length)
            top = int(np.argmax(radii))
            if radii[top] > best.rate:
                best = SwitchingLowerBound(float(radii[top]), tuple(words[top]), float(eta), length, 0)
        checked += len(words) * etas.size

    def product_rate(eta: float) -> float:
        result = np.eye(systems[0].order)
        for index in best.product:
            result = systems[index].closed_loop(eta) @ result
        return float(np.abs(np.linalg.eigvals(result)).max() ** (1.0 / len(best.product)))

    step = (L - mu) / (eta_points - 1)
    low, high = max(mu, best.eta - step), min(L, best.eta + step)
    rate, eta = best.rate, best.eta
    if high > low:
        refined = optimize.minimize_scalar(lambda e: -product_rate(e), bounds=(low, high), method="bounded")
        if -refined.fun > rate:
            rate, eta = float(-refined.fun), float(refined.x)
    return SwitchingLowerBound(rate, best.product, eta, len(best.product), checked)


class _PieceLyapunov(LMIFamily):
    """M_i(η)ᵀ P M_i(η) − ρ² P ≺ 0 at both ends of one curvature piece, for every mode."""

    def __init__(self, systems, eta_low, eta_high, solver=None):
        super().__init__(solver)
        self.matrices = [s.closed_loop(eta) for s in systems for eta in (eta_low, eta_high)]

    def variables(self):
        import cvxpy as cp

        n = self.matrices[0].shape[0]
        return [cp.Variable((n, n), symmetric=True)], None

    def lmi_expressions(self, P_vars, multipliers, rho_squared):
        (P,) = P_vars
        return [M.T @ P @ M - rho_squared * P for M in self.matrices]

    def blocks(self, P_list, multipliers, rho):
        (P,) = P_list
        norm_P = np.linalg.norm(P, 2)
        return [
            (M.T @ P @ M - rho * rho * P, norm_P * (np.linalg.norm(M, 2) ** 2 + rho * rho)) for M in self.matrices
        ]


@dataclass(frozen=True)
class LyapunovPiece:
    """One curvature piece [eta_low, eta_high] of a piecewise Lyapunov certificate.

    Attributes:
        eta_low, eta_high: the piece.
        lower: max over its vertex matrices of ρ(M_i(η)), a proven lower bound for the piece.
        bisection: the bisection on ρ (certificate, attempts).
    """

    eta_low: float
    eta_high: float
    lower: float
    bisection: Bisection

    @property
    def rate(self) -> float:
        """The certified rate of the piece, or +inf without a certificate."""
        return self.bisection.certificate.rho if self.bisection.certificate else float("inf")


@dataclass(frozen=True)
class LyapunovRate:
    """A rate over quadratics certified by piecewise common quadratic Lyapunov functions.

    Attributes:
        rate: max over pieces of the certified ρ (+inf when a piece has none).
        certified: every piece has a verified certificate with ρ < ``rho_max``.
        method: ``"lyapunov"``.
        pieces: the curvature pieces with their certificates.
        lower: the largest ρ tried without a certificate on the worst piece.
        tolerance: the bisection tolerance on ρ.
        solver, status: of the worst piece's certificate (or last attempt).
        solve_time: total wall-clock seconds of every solve.
    """

    rate: float
    certified: bool
    method: str
    pieces: list[LyapunovPiece]
    lower: float
    tolerance: float
    solver: str
    status: str
    solve_time: float
    modes: list[LinearSystem] = field(default_factory=list, repr=False)

    @property
    def certificate(self) -> Certificate | None:
        """The worst piece's certificate (None when a piece has none)."""
        worst = max(self.pieces, key=lambda piece: piece.rate)
        return worst.bisection.certificate

    @property
    def attempts(self) -> list[SolveAttempt]:
        """Every solve, piece by piece."""
        return [a for piece in self.pieces for a in piece.bisection.attempts]


def _certify_piece(systems, low_eta, high_eta, rho_max, tolerance, solver) -> LyapunovPiece:
    vertex = max(float(np.abs(np.linalg.eigvals(s.closed_loop(eta))).max()) for s in systems for eta in (low_eta, high_eta))
    family = _PieceLyapunov(systems, low_eta, high_eta, solver)
    if vertex >= rho_max:
        return LyapunovPiece(low_eta, high_eta, vertex, Bisection(None, vertex, []))
    bisection = bisect_rate(family, vertex, rho_max, tolerance)
    return LyapunovPiece(low_eta, high_eta, vertex, bisection)


def switching_lyapunov_rate(
    systems: Sequence[LinearSystem] | LinearSystem,
    mu: float,
    L: float,
    *,
    pieces: int = 4,
    refinements: int = 4,
    rho_max: float = 1.0,
    tolerance: float = 1e-4,
    solver: str | None = None,
) -> LyapunovRate:
    """Certify a rate over quadratics with curvature in [µ, L] for every switching sequence.

    The interval is cut into ``pieces`` equal pieces, each certified by its own
    P (module docstring). Then, up to ``refinements`` times, the piece of the
    largest rate is halved, as long as that lowers the overall rate by more
    than ``tolerance``.

    Args:
        systems: the modes (one system for a fixed-weight method).
        mu, L: curvature bounds 0 < µ <= L.
        pieces: initial number of pieces.
        refinements: maximum number of halvings.
        rho_max: the largest rate tried; a piece with no certificate below it is uncertified.
        tolerance: bisection tolerance on ρ.
        solver: None (Clarabel, SCS on failure) or a solver name.
    """
    systems = _modes(systems)
    mu, L = require_curvature_bounds(mu, L)
    pieces = require_int_at_least("pieces", pieces, 1)
    refinements = require_int_at_least("refinements", refinements, 0)
    tolerance = require_positive("tolerance", tolerance)
    rho_max = require_positive("rho_max", rho_max)

    edges = np.linspace(mu, L, pieces + 1)
    results = [_certify_piece(systems, lo, hi, rho_max, tolerance, solver) for lo, hi in zip(edges[:-1], edges[1:])]
    for _ in range(refinements):
        current = max(p.rate for p in results)
        if not np.isfinite(current):
            break
        # Halve every piece within tolerance of the worst; the worst rate often sits at both ends.
        candidate = []
        for piece in results:
            if piece.rate < current - tolerance:
                candidate.append(piece)
                continue
            middle = 0.5 * (piece.eta_low + piece.eta_high)
            candidate.append(_certify_piece(systems, piece.eta_low, middle, rho_max, tolerance, solver))
            candidate.append(_certify_piece(systems, middle, piece.eta_high, rho_max, tolerance, solver))
        improved = max(p.rate for p in candidate) < current - tolerance
        if max(p.rate for p in candidate) <= current:
            results = candidate
        if not improved:
            break

    worst = max(results, key=lambda piece: piece.rate)
    rate = worst.rate
    certificate = worst.bisection.certificate
    if certificate is not None:
        solver_name, status = certificate.solver, certificate.status
    elif worst.bisection.attempts:
        solver_name, status = worst.bisection.attempts[-1].solver, worst.bisection.attempts[-1].status
    else:
        solver_name, status = "none", "not solved"
    return LyapunovRate(
        rate=float(rate),
        certified=bool(np.isfinite(rate) and rate < rho_max),
        method="lyapunov",
        pieces=results,
        lower=float(max(worst.bisection.low, worst.lower)),
        tolerance=tolerance,
        solver=solver_name,
        status=status,
        solve_time=float(sum(p.bisection.total_time for p in results)),
        modes=systems,
    )
