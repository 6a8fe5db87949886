"""Predicted bounds on E‖θ_t - θ*‖² for a batched run, to draw beside what happened."""

from __future__ import annotations

import numpy as np

from cgtheory.bound import theorem1_bound
from cgtheory.contraction import contraction_factor
from cgtheory.run_output import BoundCurve
from cgtheory.simulate import RunResult


def theorem1_step_size(result: RunResult) -> float:
    """Return the α of Theorem 1 for the run's update θ_{t+1} = θ_t - lr·aggr(g_t, buffer).

    Theorem 1 takes weight 1 on g_t and weights in [0, 1] on the buffer. The sum
    aggregation has exactly that form (1 and 1/C); the mean aggregation puts
    1/(C+1) on every gradient, which is the same update with α = lr/(C+1) and weights 1.
    """
    settings = result.settings
    aggr = settings.aggr or "sum"
    if settings.uses_buffer and aggr == "mean":
        return settings.lr / (settings.topC + 1)
    return settings.lr


def theorem1_curve(result: RunResult) -> BoundCurve | None:
    """Return Theorem 1's bound for an SGD or SGDC run, or None for other optimizers.

    K is the run's observed staleness bound, max age + 1 (1 for SGD). σ² is the
    exact gradient-noise variance at θ* for the run's batch size, unless the
    problem has a uniform bound over all θ (logistic regression), which Theorem 1
    assumes and which is then used instead.
    """
    settings = result.settings
    if settings.optimizer not in ("sgd", "sgdc"):
        return None
    problem = result.problem
    K = result.max_age + 1 if settings.uses_buffer else 1
    alpha = theorem1_step_size(result)
    q = contraction_factor(alpha, K, problem["mu"], problem["L"]).q

    bound_key = str(settings.batch_size)
    uniform = problem["sigma2_bound"].get(bound_key)
    if uniform is not None:
        sigma2, source = uniform, "uniform σ² bound"
    else:
        sigma2, source = problem["sigma2"][0]["sigma2"], "σ² at θ*"

    steps = int(result.t[-1]) + 1
    curve = theorem1_bound(
        steps, q=q, alpha=alpha, K=K, sigma2=sigma2, initial_distance_sq=float(result.distance["mean"][0])
    )
    label = f"Theorem 1 (K={K}, q={q:.4g}, {source})"
    values = curve.values[np.asarray(result.t, dtype=int)]
    return BoundCurve(label, np.asarray(result.t), values, curve.applies, "" if curve.applies else f"no bound, q={q:.4g} ≥ 1")
