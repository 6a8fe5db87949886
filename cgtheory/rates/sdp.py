r"""Solving, verifying and bisecting the LMIs behind certified rates.

Every certificate here is a matrix P and nonnegative multipliers that make a
family of symmetric matrices X_j(P, multipliers; ρ) negative definite. The
solver returns a candidate; :func:`verify_blocks` then checks it in float64
with numpy, from the returned values and the problem data alone, whatever
status the solver reported:

* every multiplier is >= 0 (values within rounding of 0 are set to 0 first,
  and the certificate carries the values it was checked with);
* λ_min(P) >= τ_P = 100·n·ε_mach·‖P‖₂, so P ≻ 0 with room for rounding;
* λ_max(X_j) <= −τ_j for every block, with τ_j = 100·m·ε_mach·s_j, where m is
  the block's size and s_j the sum of the spectral norms of the terms that
  make up X_j. The rounding errors of forming X_j and of ``eigvalsh`` are
  of order m·ε_mach·s_j (the standard backward-error estimate, not a proven
  bound), so the factor 100 leaves room and a passed check means X_j ≺ 0 in
  exact arithmetic as far as that estimate goes.

The SDP maximizes a margin t subject to X_j ⪯ −t·I for every block and
trace(P) = 1, so it is feasible for every ρ and a solver never has to
detect infeasibility near the smallest feasible ρ, where that is ill
conditioned. ρ is certified when t > 0 and the float64 check passes.
trace(P) = 1 fixes the scale of the homogeneous problem. P ⪰ t·I is added
only when a solve without it returns a P that is not positive definite
(:meth:`LMIFamily.solve`). Near the smallest certifiable ρ the margin t is
tiny and P can be badly conditioned; :meth:`Bisection.conditioned_certificate`
re-solves at the certified ρ for the best-conditioned P, which the noise
bound uses.

Solvers: Clarabel by default with SCS as fallback, MOSEK on request when
``import mosek`` works. Their tolerances are :data:`SOLVER_SETTINGS`.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)


SOLVER_SETTINGS: dict[str, dict] = {
    "CLARABEL": {"tol_feas": 1e-9, "tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "max_iter": 300},
    "SCS": {"eps_abs": 1e-7, "eps_rel": 1e-7, "max_iters": 50_000},
    "MOSEK": {},
}

_ROUNDING_FACTOR = 100.0
_EPS = np.finfo(float).eps


def solver_chain(solver: str | None) -> list[str]:
    """Return the solvers to try in order: Clarabel then SCS by default, or the one requested.

    Raises:
        ValueError: for an unknown solver, or MOSEK when ``import mosek`` fails.
    """
    if solver is None:
        return ["CLARABEL", "SCS"]
    name = str(solver).upper()
    if name not in SOLVER_SETTINGS:
        raise ValueError(f"invalid solver={solver!r}: solver must be one of {', '.join(SOLVER_SETTINGS)}")
    if name == "MOSEK":
        try:
            import mosek  # noqa: F401
        except ImportError:
            raise ValueError("invalid solver='MOSEK': MOSEK is not installed; use CLARABEL or SCS") from None
    return [name]


@dataclass(frozen=True)
class Verification:
    """The float64 check of one candidate certificate.

    Attributes:
        passed: every condition below holds.
        min_eig_P: λ_min(P) (the smallest over the pieces for a piecewise certificate).
        min_eig_P_required: τ_P, the smallest λ_min(P) accepted.
        max_eig_lmi: the largest eigenvalue over every LMI block, offset by its
            margin: max_j (λ_max(X_j) + τ_j); the check passes when it is <= 0.
        max_eig_lmi_raw: max_j λ_max(X_j), without margins.
        margin: max_j τ_j.
        multipliers_nonnegative: every multiplier is >= 0 after rounding to 0.
    """

    passed: bool
    min_eig_P: float
    min_eig_P_required: float
    max_eig_lmi: float
    max_eig_lmi_raw: float
    margin: float
    multipliers_nonnegative: bool


def verify_blocks(
    P_list: list[np.ndarray], blocks: list[tuple[np.ndarray, float]], multipliers: np.ndarray
) -> Verification:
    """Check P ≻ 0 for each P, multipliers >= 0 and λ_max(X_j) <= −τ_j for each (X_j, s_j).

    ``blocks`` pairs each X_j with s_j, the sum of the norms of its terms.
    """
    min_eig, required = np.inf, 0.0
    p_ok = True
    for P in P_list:
        n = P.shape[0]
        eigenvalues = np.linalg.eigvalsh(P)
        tau_p = _ROUNDING_FACTOR * n * _EPS * max(abs(eigenvalues[-1]), abs(eigenvalues[0]))
        p_ok &= bool(eigenvalues[0] >= tau_p) and bool(np.all(np.isfinite(eigenvalues)))
        if eigenvalues[0] < min_eig:
            min_eig, required = float(eigenvalues[0]), float(tau_p)

    worst, worst_raw, margin = -np.inf, -np.inf, 0.0
    for X, scale in blocks:
        if not np.all(np.isfinite(X)):
            return Verification(False, min_eig, required, np.inf, np.inf, np.inf, False)
        tau = _ROUNDING_FACTOR * X.shape[0] * _EPS * scale
        top = float(np.linalg.eigvalsh(0.5 * (X + X.T))[-1])
        worst = max(worst, top + tau)
        worst_raw = max(worst_raw, top)
        margin = max(margin, tau)

    multipliers_ok = bool(np.all(multipliers >= 0))
    passed = p_ok and multipliers_ok and worst <= 0.0
    return Verification(passed, min_eig, required, worst, worst_raw, margin, multipliers_ok)


@dataclass(frozen=True)
class SolveAttempt:
    """One SDP solve at one candidate rate ρ.

    Attributes:
        rho: the rate the LMIs were posed for.
        solver: the solver that produced this attempt.
        status: the status cvxpy reported (``optimal``, ``infeasible``,
            ``optimal_inaccurate``, ``solver_error``, ...).
        solve_time: wall-clock seconds of the ``solve`` call (compilation included).
        verification: the float64 check, or None when the solver returned no
            point or a margin t <= 0.
        margin: the optimal margin t (NaN when the solver returned none); t > 0
            means the LMIs are strictly feasible up to solver accuracy.
        fallback_from: the solver that failed before this one, if any.
    """

    rho: float
    solver: str
    status: str
    solve_time: float
    verification: Verification | None
    margin: float = float("nan")
    fallback_from: str | None = None

    @property
    def verified(self) -> bool:
        """Whether the returned point passed the float64 check."""
        return self.verification is not None and self.verification.passed


@dataclass(frozen=True)
class Certificate:
    """A verified LMI certificate: rate ρ, Lyapunov matrices and multipliers.

    Attributes:
        rho: the certified rate.
        P: the Lyapunov matrices, one per piece of the curvature interval (one for IQC).
        multipliers: named nonnegative multipliers (empty for a pure Lyapunov certificate).
        verification: the float64 check that passed.
        solver, status, solve_time: the solve that produced it.
    """

    rho: float
    P: tuple[np.ndarray, ...]
    multipliers: dict[str, float]
    verification: Verification
    solver: str
    status: str
    solve_time: float


class LMIFamily:
    """An LMI problem in P and multipliers, parametrized by ρ, solved and verified.

    Subclasses define the variables (:meth:`variables`) and write the LMI
    blocks twice: as cvxpy expressions (:meth:`lmi_expressions`) and in numpy
    (:meth:`blocks`) for :func:`verify_blocks`. The problem is built
    once: ρ² enters as a cvxpy Parameter, so repeated solves reuse the
    compiled problem.
    """

    multiplier_names: tuple[str, ...] = ()

    def __init__(self, solver: str | None = None):
        self.solvers = solver_chain(solver)
        self._problems = {}

    def variables(self):  # pragma: no cover - abstract
        """Return (list of symmetric P variables, multiplier variable or None)."""
        raise NotImplementedError

    def lmi_expressions(self, P_vars, multipliers, rho_squared) -> list:  # pragma: no cover - abstract
        """Return the blocks X_j as cvxpy expressions, each required ⪯ −t·I."""
        raise NotImplementedError

    def blocks(self, P_list, multipliers, rho) -> list[tuple[np.ndarray, float]]:  # pragma: no cover - abstract
        """Return the numpy blocks X_j, each with s_j, the sum of the norms of its terms."""
        raise NotImplementedError

    def _build(self, kind: str):
        """Build the margin problem (``fast``, ``bounded``) or the conditioning problem (``conditioned``).

        ``fast`` maximizes t with X_j ⪯ −t·I and trace(P) = 1; ``bounded`` adds P ⪰ t·I.
        ``conditioned`` keeps X_j ⪯ −s·I for a fixed slack s > 0 and maximizes λ_min(P) instead,
        which minimizes cond(P) <= 1/λ_min(P) among the certificates with that slack.
        """
        import cvxpy as cp

        P_vars, multipliers = self.variables()
        rho_squared = cp.Parameter(nonneg=True)
        slack = cp.Parameter(nonneg=True)
        margin = cp.Variable()
        lmi_margin = slack if kind == "conditioned" else margin
        constraints = []
        for P in P_vars:
            constraints.append(cp.trace(P) == 1)
            if kind != "fast":
                constraints.append(P >> margin * np.eye(P.shape[0]))
        for X in self.lmi_expressions(P_vars, multipliers, rho_squared):
            constraints.append(0.5 * (X + X.T) << -lmi_margin * np.eye(X.shape[0]))
        problem = cp.Problem(cp.Maximize(margin), constraints)
        return problem, rho_squared, P_vars, multipliers, margin, slack

    def _solve_once(self, kind: str, name: str, rho: float, slack: float = 0.0):
        """Solve one compiled problem with one solver; return (status, margin, verification, certificate, seconds)."""
        import cvxpy as cp

        if kind not in self._problems:
            self._problems[kind] = self._build(kind)
        problem, rho_squared, P_vars, lam, margin, slack_parameter = self._problems[kind]
        rho_squared.value = rho * rho
        slack_parameter.value = slack

        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # cvxpy warns on inaccurate solutions; the status is recorded instead.
                warnings.simplefilter("ignore", UserWarning)
                problem.solve(solver=name, **SOLVER_SETTINGS[name])
            status = problem.status
        except cp.error.SolverError as error:
            logger.warning("solver %s failed at rho=%.9g: %s", name, rho, error)
            status = "solver_error"
        elapsed = time.perf_counter() - start

        solved = status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) and margin.value is not None
        t = float(margin.value) if solved else float("nan")
        if not solved or t <= 0 or any(P.value is None for P in P_vars):
            return str(status), t, None, None, elapsed

        P_list = [0.5 * (P.value + P.value.T) for P in P_vars]
        multipliers = np.zeros(0) if lam is None else np.asarray(lam.value, dtype=float).reshape(-1)
        # Multipliers within rounding of 0 are read as 0; the check then uses these values.
        tiny = 1e-12 * max(1.0, np.abs(multipliers).max(initial=0.0))
        multipliers = np.where(np.abs(multipliers) <= tiny, 0.0, multipliers)
        verification = verify_blocks(P_list, self.blocks(P_list, multipliers, rho), multipliers)
        certificate = None
        if verification.passed:
            names = dict(zip(self.multiplier_names, multipliers.tolist()))
            certificate = Certificate(rho, tuple(P_list), names, verification, name, str(status), elapsed)
        return str(status), t, verification, certificate, elapsed

    def solve(self, rho: float) -> tuple[SolveAttempt, Certificate | None]:
        """Solve at ρ with each solver in turn and verify the result.

        The first solve leaves out P ⪰ t·I, which cut a solve from 0.15 s to 0.08 s at K = 21 on
        the benchmark machine. A Stein inequality M_iᵀ P M_i ≺ ρ² P with ρ > ρ(M_i) already forces
        P ≻ 0. The IQC blocks do not, so where the returned P is not positive definite the solve is
        repeated with the bound.
        """
        return self._solve_with_fallback(rho, "fast")

    def solve_conditioned(self, rho: float, slack: float) -> tuple[SolveAttempt, Certificate | None]:
        """Solve at ρ for the best-conditioned P whose LMI blocks stay below −slack·I."""
        return self._solve_with_fallback(rho, "conditioned", slack)

    def _solve_with_fallback(self, rho, kind, slack=0.0):
        previous = None
        attempt = None
        for name in self.solvers:
            status, t, verification, certificate, elapsed = self._solve_once(kind, name, rho, slack)
            P_failed = verification is not None and verification.min_eig_P < verification.min_eig_P_required
            if certificate is None and P_failed and kind == "fast":
                status, t, verification, certificate, more = self._solve_once("bounded", name, rho)
                elapsed += more
            attempt = SolveAttempt(rho, name, status, elapsed, verification, t, previous)
            # The margin problem is always feasible, so only a solver failure calls for the fallback.
            if status != "solver_error":
                return attempt, certificate
            previous = name
        return attempt, None


@dataclass(frozen=True)
class Bisection:
    """The outcome of a bracketing search on ρ.

    Attributes:
        certificate: the verified certificate of smallest ρ, or None.
        low: the largest ρ tried without a verified certificate, or the
            starting lower end (a proven lower bound supplied by the caller).
        attempts: every solve, in order.
    """

    certificate: Certificate | None
    low: float
    attempts: list[SolveAttempt] = field(default_factory=list)
    family: LMIFamily | None = field(default=None, repr=False, compare=False)
    _conditioned: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def total_time(self) -> float:
        """Total wall-clock seconds of the solves."""
        return float(sum(a.solve_time for a in self.attempts))

    def conditioned_certificate(self) -> Certificate | None:
        """Return a certificate at the same ρ with the best-conditioned P, or the original one if that fails.

        Near the smallest certifiable ρ the margin problem returns a P that can be badly
        conditioned, and the constants of a bound grow with cond(P). One more solve at the
        certified ρ keeps half of the certificate's LMI margin and maximizes λ_min(P) under
        trace(P) = 1. The result is cached.
        """
        if self.certificate is None or self.family is None:
            return self.certificate
        if "certificate" not in self._conditioned:
            slack = 0.5 * max(-self.certificate.verification.max_eig_lmi_raw, 0.0)
            attempt, certificate = self.family.solve_conditioned(self.certificate.rho, slack)
            self.attempts.append(attempt)
            self._conditioned["certificate"] = certificate if certificate is not None else self.certificate
        return self._conditioned["certificate"]


def bisect_rate(
    family: LMIFamily,
    low: float,
    high: float,
    tolerance: float,
    *,
    max_iterations: int = 60,
) -> Bisection:
    """Find the smallest ρ in (low, high] with a verified certificate, to ``tolerance``.

    The bracket [low, high] always has a verified certificate at ``high`` and
    none at ``low`` (or ``low`` is the caller's proven lower bound). The
    search tries ``high`` first and stops without a certificate there, then
    low + tolerance, which settles the common case where the lower bound is
    tight, then bisects until high − low <= tolerance.

    NOTE: the bracket assumes that feasibility is monotone in ρ. That is not
    proven for LMIs whose multiplier terms depend on ρ (the off-by-one IQC),
    so a certifiable ρ below ``low`` may exist. Every reported ρ is verified
    regardless.
    """
    solve = family.solve
    attempts = []
    attempt, best = solve(high)
    attempts.append(attempt)
    if best is None:
        return Bisection(None, low, attempts, family)

    probe = low + tolerance
    if probe < high:
        attempt, certificate = solve(probe)
        attempts.append(attempt)
        if certificate is not None:
            return Bisection(certificate, low, attempts, family)
        low = probe

    for _ in range(max_iterations):
        if high - low <= tolerance:
            break
        middle = 0.5 * (low + high)
        attempt, certificate = solve(middle)
        attempts.append(attempt)
        if certificate is not None:
            best, high = certificate, middle
        else:
            low = middle
    return Bisection(best, low, attempts, family)
