r"""Rates certified for every µ-strongly convex, L-smooth f by integral quadratic constraints.

This is the analysis of Lessard, Recht and Packard, "Analysis and design of
optimization algorithms via integral quadratic constraints" (SIAM J. Optim.,
2016), with two constraints on the gradient u = ∇f(y), written relative to a
minimizer (y* = 0, u* = 0) with

    p_k = u_k − µ y_k,    q_k = L y_k − u_k.

* Sector: p_kᵀ q_k >= 0 at every k.
* Weighted off-by-one: with the filter state ζ_{k+1} = q_k, ζ_0 = 0, and
  any ρ ∈ (0, 1],

      Σ_{k=0}^{T} ρ^{−2k} p_kᵀ (q_k − ρ² ζ_k) >= −h S_0   for every T,

  where h = L − µ and S_0 = g(y_0) − g* − ‖∇g(y_0)‖²/(2h) <= h ‖y_0‖²/2 for
  the convex, h-smooth g = f − µ‖·‖²/2. (Interpolation inequalities of g
  between y_k and y_{k+1} and between y_k and the minimizer, combined with
  weights ρ² and 1 − ρ², telescope to this sum.)

With the augmented state x̂ = (ξ, ζ), x̂_{k+1} = Â x̂_k + B̂ u_k, the LMI in
P and λ_s, λ_o >= 0

    X = [Â B̂]ᵀ P [Â B̂] − diag(ρ² P, 0) + λ_s Q_s + λ_o (Q_s − ρ² Z) ≺ 0,

with 2 pᵀq = [x̂; u]ᵀ Q_s [x̂; u] and 2 pᵀζ = [x̂; u]ᵀ Z [x̂; u], gives
V_{k+1} <= ρ² V_k − 2λ_s p_kᵀq_k − 2λ_o p_kᵀ(q_k − ρ² ζ_k) for V = x̂ᵀ P x̂.
Multiplying by ρ^{−2(k+1)} and summing,

    V_T <= ρ^{2T} (V_0 + λ_o h² ‖y_0‖² / ρ²),

so ‖ξ_T − ξ*‖ decays at rate ρ. Everything is written for d = 1. The lifted
LMI is the Kronecker product with I_d, so the certificate is valid in every
dimension.

A switching method (SGDC with a changing buffer) gets one P and one pair of
multipliers shared by every mode, with the LMI imposed at each mode. The
sector and off-by-one constraints concern only (y_k, u_k), so the inequality
for V holds at each step whichever mode runs. [Â B̂]ᵀ P [Â B̂] is
matrix-convex in [Â B̂] for P ⪰ 0, and for SGDC the multiplier terms are
the same in every mode (they depend only on C and D), so the certificate
also covers every convex combination of the modes. The Schur-complement
form [[−Q, [Â B̂]ᵀ P], [P [Â B̂], P]] ⪰ 0, affine in [Â B̂], states the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cgtheory._validation import require_curvature_bounds, require_in_range, require_positive
from cgtheory.rates.sdp import Bisection, Certificate, LMIFamily, SolveAttempt, bisect_rate
from cgtheory.rates.spectral import worst_case_spectral_radius
from cgtheory.rates.systems import LinearSystem

MULTIPLIERS = ("sector", "off-by-one")


@dataclass(frozen=True)
class AugmentedMode:
    """One mode with the off-by-one filter appended, in the variables [x̂; u] = [ξ; ζ; u].

    Attributes:
        G: [Â B̂], so x̂_{k+1} = G [x̂_k; u_k].
        sector: Q_s with [x̂; u]ᵀ Q_s [x̂; u] = 2 pᵀq.
        filter_term: Z with [x̂; u]ᵀ Z [x̂; u] = 2 pᵀζ.
        noise_input: [B; 0], where additive gradient noise enters x̂.
        iterate: the row of x̂ that contains θ.
        output: the row C of y = C ξ, padded with zeros for ζ.
    """

    G: np.ndarray
    sector: np.ndarray
    filter_term: np.ndarray
    noise_input: np.ndarray
    iterate: np.ndarray
    output: np.ndarray


def augment(system: LinearSystem, mu: float, L: float, *, with_filter: bool = True) -> AugmentedMode:
    """Append the off-by-one filter state ζ_{k+1} = L y_k − u_k to a mode (module docstring)."""
    A, B, C, D = system.A, system.B, system.C, system.D
    n = system.order
    d = float(D[0, 0])
    extra = 1 if with_filter else 0
    size = n + extra

    A_hat = np.zeros((size, size))
    A_hat[:n, :n] = A
    B_hat = np.zeros((size, 1))
    B_hat[:n] = B
    if with_filter:
        A_hat[n, :n] = L * C[0]
        B_hat[n, 0] = L * d - 1.0

    # Rows of p, q and ζ as functionals of [ξ; ζ; u].
    q_row = np.concatenate([L * C[0], np.zeros(extra), [L * d - 1.0]])
    p_row = np.concatenate([-mu * C[0], np.zeros(extra), [1.0 - mu * d]])
    zeta_row = np.zeros(size + 1)
    if with_filter:
        zeta_row[n] = 1.0

    noise = np.zeros(size)
    noise[:n] = B[:, 0]
    iterate = np.zeros(size)
    iterate[:n] = system.iterate
    output = np.zeros(size)
    output[:n] = C[0]
    return AugmentedMode(
        G=np.hstack([A_hat, B_hat]),
        sector=np.outer(p_row, q_row) + np.outer(q_row, p_row),
        filter_term=np.outer(p_row, zeta_row) + np.outer(zeta_row, p_row),
        noise_input=noise,
        iterate=iterate,
        output=output,
    )


class _IQCFamily(LMIFamily):
    """The IQC LMI of the module docstring, one block per mode, with shared P and multipliers."""

    def __init__(self, systems, mu, L, multipliers, solver=None):
        super().__init__(solver)
        self.use_filter = "off-by-one" in multipliers
        self.multiplier_names = tuple(multipliers)
        self.modes = [augment(s, mu, L, with_filter=self.use_filter) for s in systems]
        self.size = self.modes[0].G.shape[0]

    def variables(self):
        import cvxpy as cp

        return [cp.Variable((self.size, self.size), symmetric=True)], cp.Variable(len(self.multiplier_names), nonneg=True)

    def _terms(self, mode, multipliers, rho_squared):
        terms = []
        for index, name in enumerate(self.multiplier_names):
            if name == "sector":
                terms.append(multipliers[index] * mode.sector)
            else:
                terms.append(multipliers[index] * mode.sector - rho_squared * multipliers[index] * mode.filter_term)
        return terms

    def _embed(self, P):
        """Return diag(P, 0) as an expression in the [x̂; u] variables."""
        import cvxpy as cp

        return cp.bmat([[P, np.zeros((self.size, 1))], [np.zeros((1, self.size)), np.zeros((1, 1))]])

    def lmi_expressions(self, P_vars, multipliers, rho_squared):
        (P,) = P_vars
        embedded = self._embed(P)
        expressions = []
        for mode in self.modes:
            X = mode.G.T @ P @ mode.G - rho_squared * embedded
            for term in self._terms(mode, multipliers, rho_squared):
                X = X + term
            expressions.append(X)
        return expressions

    def blocks(self, P_list, multipliers, rho):
        (P,) = P_list
        embedded = np.zeros((self.size + 1, self.size + 1))
        embedded[: self.size, : self.size] = P
        norm_P = np.linalg.norm(P, 2)
        blocks = []
        for mode in self.modes:
            gain = mode.G.T @ P @ mode.G
            X = gain - rho * rho * embedded
            scale = np.linalg.norm(gain, 2) + rho * rho * norm_P
            for index, name in enumerate(self.multiplier_names):
                term = multipliers[index] * mode.sector
                if name == "off-by-one":
                    term = term - rho * rho * multipliers[index] * mode.filter_term
                X = X + term
                scale += np.linalg.norm(term, 2)
            blocks.append((X, scale))
        return blocks


@dataclass(frozen=True)
class IQCRate:
    """A rate for every µ-strongly convex, L-smooth f, certified by an IQC.

    Attributes:
        rate: the smallest verified ρ (+inf when none was found below ``rho_max``).
        certified: a verified certificate with ρ <= 1 exists (ρ < 1 means linear convergence).
        method: ``"iqc"``.
        multipliers: the IQCs used (``sector``, ``off-by-one``).
        certificate: the verified certificate of ``rate``, or None.
        lower: a lower end for the rate: the larger of the quadratic worst case
            (a proven lower bound) and the largest ρ tried without a certificate.
        quadratic_lower_bound: max over modes of sup_η ρ(M_i(η)), proven.
        tolerance: bisection tolerance on ρ.
        solver, status: of the certificate's solve, or of the last solve.
        solve_time: total wall-clock seconds of the solves.
        attempts: every solve.
        mu, L: the function class.
    """

    rate: float
    certified: bool
    method: str
    multipliers: tuple[str, ...]
    certificate: Certificate | None
    lower: float
    quadratic_lower_bound: float
    tolerance: float
    solver: str
    status: str
    solve_time: float
    attempts: list[SolveAttempt]
    mu: float
    L: float
    modes: list[AugmentedMode] = field(default_factory=list, repr=False)
    bisection: Bisection | None = field(default=None, repr=False)

    def conditioned_certificate(self) -> Certificate | None:
        """Return the certificate at ``rate`` re-solved with P ⪰ t·I (one more solve, cached)."""
        return self.bisection.conditioned_certificate() if self.bisection is not None else self.certificate

    def figures(self) -> dict:
        """Return the verification figures as a plain dict, for reports and JSON."""
        certificate = self.certificate
        figures = {
            "rate": self.rate,
            "certified": self.certified,
            "lower": self.lower,
            "quadratic_lower_bound": self.quadratic_lower_bound,
            "tolerance": self.tolerance,
            "solver": self.solver,
            "status": self.status,
            "solve_time_s": self.solve_time,
            "solves": len(self.attempts),
        }
        if certificate is not None:
            verification = certificate.verification
            figures.update(
                {
                    "min_eig_P": verification.min_eig_P,
                    "max_eig_lmi": verification.max_eig_lmi_raw,
                    "lmi_margin_required": verification.margin,
                    "multipliers": certificate.multipliers,
                    "cond_P": float(np.linalg.cond(certificate.P[0])),
                }
            )
        return figures

    def initial_gain(self, certificate: Certificate | None = None) -> float:
        """Return λ_o h², the factor of ‖y_0 − y*‖²/ρ² that the off-by-one IQC adds to V_0.

        ``certificate`` defaults to this result's certificate.
        """
        certificate = certificate or self.certificate
        if certificate is None:
            return float("inf")
        return certificate.multipliers.get("off-by-one", 0.0) * (self.L - self.mu) ** 2


def iqc_rate(
    systems: Sequence[LinearSystem] | LinearSystem,
    mu: float,
    L: float,
    *,
    multipliers: Sequence[str] = MULTIPLIERS,
    tolerance: float = 1e-5,
    rho_max: float = 1.0,
    solver: str | None = None,
    lower: float | None = None,
) -> IQCRate:
    """Certify the smallest rate ρ the IQC LMI allows, by bisection (module docstring).

    The bisection starts from the quadratic worst case of each mode, a proven
    lower bound (the IQC certificate covers quadratics too), and tries
    ``rho_max`` first.

    Args:
        systems: one system, or the modes of a switching method.
        mu, L: the function class, 0 < µ <= L.
        multipliers: a nonempty subset of ``("sector", "off-by-one")``.
        tolerance: bisection tolerance on ρ.
        rho_max: the largest ρ tried, in (0, 1]; the off-by-one IQC needs ρ <= 1.
        solver: None (Clarabel, SCS on failure) or ``"CLARABEL"``, ``"SCS"``, ``"MOSEK"``.
        lower: a known lower bound on the rate, to skip the quadratic one.

    Raises:
        ValueError: on invalid input, naming the value and the rule.
    """
    systems = [systems] if isinstance(systems, LinearSystem) else list(systems)
    if not systems:
        raise ValueError("invalid systems=[]: need at least one mode")
    mu, L = require_curvature_bounds(mu, L)
    tolerance = require_positive("tolerance", tolerance)
    rho_max = require_in_range("rho_max", rho_max, 1e-12, 1.0, closed_high=True)
    multipliers = tuple(multipliers)
    if not multipliers or any(m not in MULTIPLIERS for m in multipliers) or len(set(multipliers)) != len(multipliers):
        raise ValueError(f"invalid multipliers={list(multipliers)}: choose distinct names from {', '.join(MULTIPLIERS)}")
    n = systems[0].order
    if any(s.order != n for s in systems):
        raise ValueError(f"invalid systems: every mode must have state dimension {n}")

    if lower is None:
        lower = max(worst_case_spectral_radius(s, mu, L, tolerance=1e-9).lower for s in systems)
    family = _IQCFamily(systems, mu, L, multipliers, solver)
    if lower >= rho_max:
        bisection = Bisection(None, lower, [])
    else:
        bisection = bisect_rate(family, lower, rho_max, tolerance)

    certificate = bisection.certificate
    if certificate is not None:
        solver_name, status = certificate.solver, certificate.status
    elif bisection.attempts:
        solver_name, status = bisection.attempts[-1].solver, bisection.attempts[-1].status
    else:
        solver_name, status = "none", "not solved"
    return IQCRate(
        rate=certificate.rho if certificate else float("inf"),
        certified=certificate is not None,
        method="iqc",
        multipliers=multipliers,
        certificate=certificate,
        lower=float(max(lower, bisection.low)),
        quadratic_lower_bound=float(lower),
        tolerance=tolerance,
        solver=solver_name,
        status=status,
        solve_time=bisection.total_time,
        attempts=bisection.attempts,
        mu=mu,
        L=L,
        modes=family.modes,
        bisection=bisection,
    )
