"""Monte Carlo runs of a linear-system method with noisy gradients, for checking bounds.

Every run starts at rest (ξ_0 = v* ⊗ θ_0, every stored gradient zero) with
‖θ_0 − θ*‖ = 1, uses g_t = ∇f(y_t) + ζ_t with ζ_t ~ N(0, σ²/d · I_d), and
records ‖θ_t − θ*‖². Seeds run in parallel along the first array axis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from cgtheory._validation import require_int_at_least, require_nonnegative
from cgtheory.rates.systems import LinearSystem


@dataclass(frozen=True)
class MonteCarloRun:
    """Squared distances to the minimizer over many seeds.

    Attributes:
        mean: E‖θ_t − θ*‖² estimated over the seeds, t = 0..steps.
        standard_error: the standard error of ``mean``.
        seeds: the number of runs.
    """

    mean: np.ndarray
    standard_error: np.ndarray
    seeds: int


def quadratic_gradient(hessian: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Return y ↦ H y for a batch of points y of shape (seeds, d)."""
    return lambda points: points @ hessian.T


def logcosh_gradient(mu: float, L: float, rotation: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Return the gradient of f(θ) = µ‖θ‖²/2 + (L − µ) Σ_i log cosh((Qθ)_i), a µ-strongly convex, L-smooth f.

    Its Hessian µI + (L − µ) Qᵀ diag(sech²(Qθ)) Q has eigenvalues in [µ, L], and θ* = 0.
    """
    return lambda points: mu * points + (L - mu) * np.tanh(points @ rotation.T) @ rotation


def simulate(
    modes: Sequence[LinearSystem],
    gradient: Callable[[np.ndarray], np.ndarray],
    dimension: int,
    steps: int,
    *,
    sigma2: float,
    seeds: int,
    rng: np.random.Generator,
    switching: str = "random",
) -> MonteCarloRun:
    """Run the method from random unit starts and return the statistics of ‖θ_t − θ*‖².

    Args:
        modes: one system, or the modes of a switching method.
        gradient: the exact gradient for a batch of points (seeds, d); θ* = 0.
        dimension: d.
        steps: number of steps.
        sigma2: total noise variance σ² = E‖ζ_t‖².
        seeds: number of independent runs.
        rng: the random generator (starts, noise and mode choices).
        switching: ``"random"`` draws a mode uniformly at each step of each run.
    """
    steps = require_int_at_least("steps", steps, 1)
    seeds = require_int_at_least("seeds", seeds, 1)
    sigma2 = require_nonnegative("sigma2", sigma2)
    if switching != "random":
        raise ValueError(f"invalid switching={switching!r}: only 'random' is supported")

    A = np.stack([m.A for m in modes])
    B = np.stack([m.B[:, 0] for m in modes])
    C = modes[0].C[0]
    iterate = modes[0].iterate
    anchor = modes[0].fixed_point
    if anchor is None:
        raise ValueError(f"invalid system {modes[0].name}: a run needs its fixed point v* (fixed_point is None)")

    theta0 = rng.normal(size=(seeds, dimension))
    theta0 /= np.linalg.norm(theta0, axis=1, keepdims=True)
    state = anchor[None, :, None] * theta0[:, None, :]  # (seeds, n, d)

    distances = np.empty((steps + 1, seeds))
    distances[0] = np.sum(np.einsum("n,snd->sd", iterate, state) ** 2, axis=1)
    noise_scale = np.sqrt(sigma2 / dimension)
    for t in range(steps):
        index = rng.integers(len(modes), size=seeds) if len(modes) > 1 else np.zeros(seeds, dtype=int)
        points = np.einsum("n,snd->sd", C, state)
        g = gradient(points) + noise_scale * rng.normal(size=(seeds, dimension))
        state = np.einsum("snm,smd->snd", A[index], state) + B[index][:, :, None] * g[:, None, :]
        distances[t + 1] = np.sum(np.einsum("n,snd->sd", iterate, state) ** 2, axis=1)

    mean = distances.mean(axis=1)
    standard_error = distances.std(axis=1, ddof=1) / np.sqrt(seeds) if seeds > 1 else np.zeros_like(mean)
    return MonteCarloRun(mean, standard_error, seeds)
