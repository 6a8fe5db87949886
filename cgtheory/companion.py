r"""The K×K matrix Λ of Theorem 1 and the block matrix A_t of its proof.

The SGDC recursion with staleness bounded by K is

    r_{t+1} = r_t - α Σ_{k=0}^{K-1} w_{t,k} H_{t-k} r_{t-k},   w_{t,0} = 1,

where r_t = θ_t - θ* and H_k is the averaged Hessian along the segment from
θ* to θ_k. With scalar curvatures η_k in place of H_k the coefficients are

    λ_0 = 1 - α η_0,     λ_k = -α w_k η_k   (k = 1, ..., K-1).

Two K×K matrices carry these coefficients in their first row:

* ``printed``: the matrix exactly as Theorem 1 prints it, whose rows 2..K
  have a 1 on the diagonal, Λ = [[λ_0, λ_1, ..., λ_{K-1}], [0, I_{K-1}]].
* ``companion``: the matrix that the stacked state (r_t, ..., r_{t-K+1})
  of the proof implies, with the identity on the subdiagonal,
  Λ = [[λ_0, ..., λ_{K-1}], [I_{K-1}, 0]].

Only the companion form describes the recursion. Both are exposed because
Theorem 1's q is defined through the printed one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cgtheory._validation import require_choice, require_finite, require_in_range, require_positive

FORMS = ("companion", "printed")


def first_row(alpha: float, weights: Sequence[float], curvatures: Sequence[float]) -> np.ndarray:
    """Return (λ_0, ..., λ_{K-1}) for step size α, weights w_1..w_{K-1} and curvatures η_0..η_{K-1}."""
    alpha = require_positive("alpha", alpha)
    weights = np.asarray(weights, dtype=float).reshape(-1)
    curvatures = np.asarray(curvatures, dtype=float).reshape(-1)
    if curvatures.size < 1:
        raise ValueError("invalid curvatures=[]: need at least one curvature η_0")
    if weights.size != curvatures.size - 1:
        raise ValueError(
            f"invalid weights of length {weights.size}: need K-1 = {curvatures.size - 1} weights "
            f"for {curvatures.size} curvatures"
        )
    for index, value in enumerate(weights):
        require_in_range(f"weights[{index}]", value, 0.0, 1.0, closed_high=True)
    for index, value in enumerate(curvatures):
        require_finite(f"curvatures[{index}]", value)

    row = np.empty(curvatures.size)
    row[0] = 1.0 - alpha * curvatures[0]
    row[1:] = -alpha * weights * curvatures[1:]
    return row


def lambda_matrix(
    alpha: float,
    weights: Sequence[float],
    curvatures: Sequence[float],
    form: str = "companion",
) -> np.ndarray:
    """Build Λ ∈ R^{K×K} in the ``companion`` or the ``printed`` form (see the module docstring)."""
    require_choice("form", form, FORMS)
    row = first_row(alpha, weights, curvatures)
    K = row.size

    matrix = np.zeros((K, K))
    matrix[0] = row
    if form == "companion":
        matrix[1:, :-1] = np.eye(K - 1)
    else:
        matrix[1:, 1:] = np.eye(K - 1)
    return matrix


def block_matrix(
    alpha: float,
    weights: Sequence[float],
    hessians: Sequence[np.ndarray],
    form: str = "companion",
) -> np.ndarray:
    """Build the Kd×Kd matrix A_t of the proof from K symmetric d×d Hessians H_t, ..., H_{t-K+1}.

    The first block row is (I - αH_t, -αw_1 H_{t-1}, ..., -αw_{K-1} H_{t-K+1}); the
    remaining identity blocks sit on the block subdiagonal (``companion``) or the
    block diagonal (``printed``), as in :func:`lambda_matrix`.
    """
    require_choice("form", form, FORMS)
    alpha = require_positive("alpha", alpha)
    hessians = [np.asarray(h, dtype=float) for h in hessians]
    K = len(hessians)
    if K < 1:
        raise ValueError("invalid hessians=[]: need at least one Hessian")
    d = hessians[0].shape[0]
    for index, h in enumerate(hessians):
        if h.shape != (d, d):
            raise ValueError(f"invalid hessians[{index}] of shape {h.shape}: every Hessian must be {d}×{d}")
    weights = np.asarray(weights, dtype=float).reshape(-1)
    if weights.size != K - 1:
        raise ValueError(f"invalid weights of length {weights.size}: need K-1 = {K - 1} weights")

    identity = np.eye(d)
    matrix = np.zeros((K * d, K * d))
    matrix[:d, :d] = identity - alpha * hessians[0]
    for k in range(1, K):
        matrix[:d, k * d : (k + 1) * d] = -alpha * weights[k - 1] * hessians[k]
        if form == "companion":
            matrix[k * d : (k + 1) * d, (k - 1) * d : k * d] = identity
        else:
            matrix[k * d : (k + 1) * d, k * d : (k + 1) * d] = identity
    return matrix
