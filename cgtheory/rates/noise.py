r"""A convergence bound with gradient noise, derived from a verified certificate.

Assumptions. The method uses the noisy gradient g_k = ∇f(y_k) + ζ_k in place
of u_k everywhere, so the noise enters the state through the input matrix B
(for SGDC the buffer stores the noisy gradients, as Algorithm 1 of "Memory
Augmented Optimizers for Deep Learning" does). With F_k the history up to
step k, E[ζ_k | F_k] = 0 and E[‖ζ_k‖² | F_k] <= σ². Independent, zero-mean
noise of variance at most σ², the assumption of that paper's Theorem 1,
satisfies both.

Derivation. With V = x̂ᵀ P x̂ and b = max over modes of B̂_nᵀ P B̂_n, where
B̂_n = [B; 0] is where the noise enters x̂,

    V_{k+1} = ‖G [x̂_k; u_k]‖²_P + 2 (G [x̂_k; u_k])ᵀ P B̂_n ζ_k + ζ_kᵀ (B̂_nᵀ P B̂_n) ζ_k.

The cross term has conditional mean zero because x̂_k and u_k are
F_k-measurable. The certificate bounds the first term:

* IQC certificate (every µ-strongly convex, L-smooth f): the LMI gives
  ‖G[x̂;u]‖²_P <= ρ² V_k − 2λ_s p_kᵀq_k − 2λ_o p_kᵀ(q_k − ρ²ζ_k), with p, q
  formed from the exact gradient u_k = ∇f(y_k). The noise stays outside the
  nonlinearity, so the sector and off-by-one constraints hold along every
  sample path, and summing as in :mod:`cgtheory.rates.iqc` before taking
  expectations gives

      E V_t <= ρ^{2t} (V_0 + λ_o h² ‖y_0 − y*‖² / ρ²) + b σ² (1 − ρ^{2t}) / (1 − ρ²).

* Lyapunov certificate (quadratics with Hessian eigenvalues in [µ, L]): in
  the eigenbasis of the Hessian each coordinate runs its own scalar loop, and
  V = Σ_j ξ_jᵀ P_{piece(η_j)} ξ_j satisfies E V_{k+1} <= ρ² E V_k + b σ² with
  b the maximum over pieces and modes, so the same bound holds without the
  λ_o term.

Finally E‖θ_t − θ*‖² <= π E V_t with π = e_θᵀ P^{-1} e_θ (maximized over
pieces), since (e_θᵀ x)² <= (e_θᵀ P^{-1} e_θ)(xᵀ P x) by Cauchy–Schwarz.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cgtheory._validation import require_int_at_least, require_nonnegative
from cgtheory.rates.iqc import IQCRate
from cgtheory.rates.switching import LyapunovRate


@dataclass(frozen=True)
class NoisyBound:
    r"""E‖θ_t − θ*‖² <= constant · ρ^{2t} · D_0 + floor · (1 − ρ^{2t}), valid for every t >= 0.

    Attributes:
        rho: the certified rate.
        constant: c; D_0 is ‖ξ_0 − ξ*‖² (``initial_direction`` None) or
            ‖θ_0 − θ*‖² when the start is ξ_0 − ξ* = v ⊗ (θ_0 − θ*).
        floor: π b σ² / (1 − ρ²), the limit of the bound as t → ∞.
        iterate_gain: π = e_θᵀ P^{-1} e_θ.
        noise_gain: b, the largest B̂_nᵀ P B̂_n over modes (and pieces).
        sigma2: σ².
        kind: ``"iqc"`` (every smooth strongly convex f) or ``"lyapunov"`` (quadratics).
        initial_direction: v, or None for the worst start of norm D_0.
    """

    rho: float
    constant: float
    floor: float
    iterate_gain: float
    noise_gain: float
    sigma2: float
    kind: str
    initial_direction: tuple[float, ...] | None

    def values(self, steps: int, initial_distance_sq: float) -> np.ndarray:
        """Return the bound at t = 0, ..., steps − 1 for D_0 = ``initial_distance_sq``."""
        steps = require_int_at_least("steps", steps, 1)
        initial_distance_sq = require_nonnegative("initial_distance_sq", initial_distance_sq)
        decay = self.rho ** (2.0 * np.arange(steps))
        return self.constant * decay * initial_distance_sq + self.floor * (1.0 - decay)


def noisy_bound(
    result: IQCRate | LyapunovRate,
    sigma2: float,
    *,
    initial_direction: Sequence[float] | None = None,
) -> NoisyBound:
    """Derive the bound of the module docstring from a certified rate.

    Args:
        result: a certified :class:`~cgtheory.rates.iqc.IQCRate` or
            :class:`~cgtheory.rates.switching.LyapunovRate` with ρ < 1.
        sigma2: σ² >= 0, the bound on E[‖ζ_k‖² | F_k].
        initial_direction: v for a start ξ_0 − ξ* = v ⊗ (θ_0 − θ*), such as
            the system's ``fixed_point`` (memory at rest); None bounds every
            start with ‖ξ_0 − ξ*‖² = D_0.

    Raises:
        ValueError: when the result is not certified with ρ < 1.
    """
    sigma2 = require_nonnegative("sigma2", sigma2)
    if not result.certified or not result.rate < 1.0:
        raise ValueError(f"invalid result: need a certified rate < 1 to derive a bound, got rate={result.rate!r}")
    rho = float(result.rate)

    # The constants depend on cond(P), so the bound uses certificates re-solved with P ⪰ t·I.
    if isinstance(result, IQCRate):
        kind = "iqc"
        certificate = result.conditioned_certificate()
        (P,) = certificate.P
        modes = result.modes
        noise_inputs = [mode.noise_input for mode in modes]
        iterate = modes[0].iterate
        output = modes[0].output
        P_list = [P]
        initial_gain = result.initial_gain(certificate) / (rho * rho)
    elif isinstance(result, LyapunovRate):
        kind = "lyapunov"
        P_list = [piece.bisection.conditioned_certificate().P[0] for piece in result.pieces]
        noise_inputs = [system.B[:, 0] for system in result.modes]
        iterate = result.modes[0].iterate
        output = result.modes[0].C[0]
        initial_gain = 0.0
    else:
        raise ValueError(f"invalid result of type {type(result).__name__}: need an IQCRate or a LyapunovRate")

    size = P_list[0].shape[0]
    if initial_direction is None:
        start = max(float(np.linalg.eigvalsh(P)[-1]) for P in P_list)
        output_gain = float(np.dot(output, output))
        direction = None
    else:
        v = np.zeros(size)
        requested = np.asarray(initial_direction, dtype=float).reshape(-1)
        if requested.size > size:
            raise ValueError(f"invalid initial_direction of length {requested.size}: the state has dimension {size}")
        v[: requested.size] = requested
        start = max(float(v @ P @ v) for P in P_list)
        output_gain = float(np.dot(output, v)) ** 2
        direction = tuple(requested.tolist())

    iterate_gain = max(float(iterate @ np.linalg.solve(P, iterate)) for P in P_list)
    noise_gain = max(float(b @ P @ b) for b in noise_inputs for P in P_list)
    constant = iterate_gain * (start + initial_gain * output_gain)
    floor = iterate_gain * noise_gain * sigma2 / (1.0 - rho * rho)
    return NoisyBound(rho, constant, floor, iterate_gain, noise_gain, sigma2, kind, direction)
