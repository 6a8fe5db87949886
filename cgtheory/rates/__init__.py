"""Convergence rates that hold: spectral, Lyapunov, IQC and PEP analyses of first-order methods.

Theorem 1's q(α, K) is at least 1 for every memory K >= 2, so it certifies
nothing. This package computes rates that can be trusted instead:

* :mod:`~cgtheory.rates.systems`: methods as linear systems (A, B, C, D)
  in feedback with the gradient: gradient descent, heavy ball, Nesterov,
  SGDC with a fixed or a switching buffer.
* :mod:`~cgtheory.rates.spectral`: the exact worst-case rate over
  quadratics of a fixed-weight method.
* :mod:`~cgtheory.rates.switching`: lower and upper bounds for a switching
  method over quadratics.
* :mod:`~cgtheory.rates.iqc`: rates certified for every µ-strongly convex,
  L-smooth f by integral quadratic constraints.
* :mod:`~cgtheory.rates.sdp`: the solves and the float64 verification of
  every certificate.
* :mod:`~cgtheory.rates.noise`: the bound on E‖θ_t − θ*‖² with gradient noise.
* :mod:`~cgtheory.rates.pep`: exact N-step worst cases with PEPit (optional).
* :mod:`~cgtheory.rates.simulate`: Monte Carlo runs with noisy gradients.
* :mod:`~cgtheory.rates.analysis`: one entry point per method name, as the
  command line uses them.
"""

from cgtheory.rates.analysis import RateReport, certified_step_sizes, compute_rate, stable_step_sizes
from cgtheory.rates.iqc import IQCRate, iqc_rate
from cgtheory.rates.noise import NoisyBound, noisy_bound
from cgtheory.rates.pep import PEPResult, pep_worst_case
from cgtheory.rates.sdp import Certificate, SolveAttempt, Verification
from cgtheory.rates.spectral import SpectralRate, spectral_radius_on_grid, worst_case_spectral_radius
from cgtheory.rates.switching import (
    LyapunovRate,
    SwitchingLowerBound,
    switching_lower_bound,
    switching_lyapunov_rate,
)
from cgtheory.rates.systems import (
    LinearSystem,
    build_algorithm,
    filling_modes,
    gradient_descent,
    gradient_memory,
    heavy_ball,
    nesterov,
    sgdc,
    sgdc_filling_schedule,
    sgdc_modes,
)

__all__ = [
    "Certificate",
    "IQCRate",
    "LinearSystem",
    "LyapunovRate",
    "NoisyBound",
    "PEPResult",
    "RateReport",
    "SolveAttempt",
    "SpectralRate",
    "SwitchingLowerBound",
    "Verification",
    "build_algorithm",
    "certified_step_sizes",
    "compute_rate",
    "filling_modes",
    "gradient_descent",
    "gradient_memory",
    "heavy_ball",
    "iqc_rate",
    "nesterov",
    "noisy_bound",
    "pep_worst_case",
    "sgdc",
    "sgdc_filling_schedule",
    "sgdc_modes",
    "spectral_radius_on_grid",
    "stable_step_sizes",
    "switching_lower_bound",
    "switching_lyapunov_rate",
    "worst_case_spectral_radius",
]
