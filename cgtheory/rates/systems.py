r"""First-order methods as linear systems in feedback with the gradient.

A method is the linear system

    ξ_{t+1} = A ξ_t + B u_t,    y_t = C ξ_t + D u_t,    u_t = ∇f(y_t),

written for d = 1; for θ ∈ R^d every matrix is lifted by a Kronecker product
with I_d (:meth:`LinearSystem.lift`). Every method here has D = 0. Each system
also records ``fixed_point``, the vector v* with ξ* = v* ⊗ θ* at a minimizer
θ* (there ∇f(θ*) = 0, so Av* = v* and Cv* = 1), and ``iterate``, the row that
reads θ_t off the state. A system built only for analysis may leave
``fixed_point`` as None; the noise bound and the PEP and Monte Carlo runs
need it.

SGDC, x_{t+1} = x_t − α·aggr(g_t, buffer), is a gradient-memory method
x_{t+1} = x_t − α Σ_{k=0}^{K-1} w_k g_{t-k}. Its state is

    ξ_t = (x_t, α g_{t-1}, ..., α g_{t-K+1}) ∈ R^K,

the iterate and the last K − 1 gradients scaled by α. Storing α·g keeps the
state's coordinates on one scale, so a Lyapunov matrix P stays well
conditioned for small α and the noise enters through B ∝ α. The buffer stores
topC of the last K − 1 gradients, so its lags (t − k for a stored g_k) lie in
{1, ..., K − 1}. With C = topC stored gradients:

* ``mean``: w_0 = 1/(C+1) and w_k = 1/(C+1) for each stored lag k;
* ``sum``:  w_0 = 1 and w_k = 1/C for each stored lag k.

A fixed buffer membership is one linear system (:func:`sgdc`). A switching
buffer, any topC-subset of the lags changing from step to step, is the finite
set of systems of :func:`sgdc_modes`, one per subset.

While the buffer fills (steps t < topC of Algorithm 1), it contains exactly the
lags 1..t, so C = t there. These ``filling`` modes run once each, in order,
at the start. A rate is asymptotic, so :func:`sgdc_modes` leaves them out by
default. A finite prefix changes the constant of a bound, never its rate;
pass ``include_filling=True`` to certify every step from t = 0 instead.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cgtheory._validation import require_choice, require_in_range, require_int_at_least, require_positive

AGGREGATIONS = ("mean", "sum")
ALGORITHMS = ("gd", "heavy-ball", "nesterov", "sgdc")


@dataclass(frozen=True, eq=False)
class LinearSystem:
    """A first-order method (A, B, C, D) for d = 1.

    Attributes:
        A: n×n state matrix.
        B: n×1 input matrix (the gradient enters here).
        C: 1×n output matrix (the point where the gradient is evaluated).
        D: 1×1 feedthrough, zero for every method here.
        fixed_point: v* ∈ R^n with ξ* = v* ⊗ θ* at a minimizer θ*, or None.
        iterate: e ∈ R^n with θ_t = (e ⊗ I_d)ᵀ ξ_t.
        name: a label such as ``"sgdc(mean, lags 1,2)"``.
        parameters: the method's parameters, for reports.
    """

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    D: np.ndarray
    fixed_point: np.ndarray | None
    iterate: np.ndarray
    name: str
    parameters: dict = field(default_factory=dict)

    def __post_init__(self):
        n = self.A.shape[0]
        shapes = {"A": (n, n), "B": (n, 1), "C": (1, n), "D": (1, 1), "fixed_point": (n,), "iterate": (n,)}
        for key, shape in shapes.items():
            value = getattr(self, key)
            if value is None and key == "fixed_point":
                continue
            if value.shape != shape:
                raise ValueError(f"invalid {key} of shape {value.shape}: need {shape} for n = {n}")
        if self.fixed_point is None:
            return
        residual = np.abs(self.A @ self.fixed_point - self.fixed_point).max()
        if residual > 1e-12 or abs(float((self.C @ self.fixed_point)[0]) - 1.0) > 1e-12:
            raise ValueError(f"invalid fixed_point for {self.name}: need A v* = v* and C v* = 1")

    @property
    def order(self) -> int:
        """The state dimension n (for d = 1)."""
        return self.A.shape[0]

    def closed_loop(self, eta: float) -> np.ndarray:
        """Return A + η B C, the state matrix on the quadratic f(θ) = η θ²/2 (requires D = 0)."""
        self.require_strictly_proper()
        return self.A + eta * (self.B @ self.C)

    def require_strictly_proper(self) -> None:
        """Raise ValueError unless D = 0, which the quadratic analyses assume."""
        if np.any(self.D != 0):
            raise ValueError(f"invalid system {self.name}: D must be 0 for this analysis")

    def lift(self, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return (A ⊗ I_d, B ⊗ I_d, C ⊗ I_d, D ⊗ I_d), the method on θ ∈ R^d."""
        d = require_int_at_least("d", d, 1)
        identity = np.eye(d)
        return tuple(np.kron(matrix, identity) for matrix in (self.A, self.B, self.C, self.D))


def _system(A, B, C, fixed_point, iterate, name, parameters) -> LinearSystem:
    A = np.atleast_2d(np.asarray(A, dtype=float))
    return LinearSystem(
        A,
        np.asarray(B, dtype=float).reshape(-1, 1),
        np.asarray(C, dtype=float).reshape(1, -1),
        np.zeros((1, 1)),
        np.asarray(fixed_point, dtype=float).reshape(-1),
        np.asarray(iterate, dtype=float).reshape(-1),
        name,
        parameters,
    )


def _require_beta(beta) -> float:
    return require_in_range("beta", beta, 0.0, 1.0)


def gradient_descent(alpha: float) -> LinearSystem:
    """Build gradient descent x_{t+1} = x_t − α ∇f(x_t)."""
    alpha = require_positive("alpha", alpha)
    return _system([[1.0]], [-alpha], [1.0], [1.0], [1.0], f"gd(alpha={alpha:g})", {"alpha": alpha})


def heavy_ball(alpha: float, beta: float) -> LinearSystem:
    """Build Polyak's heavy ball x_{t+1} = x_t − α ∇f(x_t) + β (x_t − x_{t-1}), state (x_t, x_{t-1})."""
    alpha = require_positive("alpha", alpha)
    beta = _require_beta(beta)
    return _system(
        [[1.0 + beta, -beta], [1.0, 0.0]],
        [-alpha, 0.0],
        [1.0, 0.0],
        [1.0, 1.0],
        [1.0, 0.0],
        f"heavy-ball(alpha={alpha:g}, beta={beta:g})",
        {"alpha": alpha, "beta": beta},
    )


def nesterov(alpha: float, beta: float) -> LinearSystem:
    """Build Nesterov's method y_t = x_t + β (x_t − x_{t-1}), x_{t+1} = y_t − α ∇f(y_t), state (x_t, x_{t-1})."""
    alpha = require_positive("alpha", alpha)
    beta = _require_beta(beta)
    return _system(
        [[1.0 + beta, -beta], [1.0, 0.0]],
        [-alpha, 0.0],
        [1.0 + beta, -beta],
        [1.0, 1.0],
        [1.0, 0.0],
        f"nesterov(alpha={alpha:g}, beta={beta:g})",
        {"alpha": alpha, "beta": beta},
    )


def gradient_memory(alpha: float, weights: Sequence[float], name: str | None = None) -> LinearSystem:
    """Build x_{t+1} = x_t − α Σ_{k=0}^{K-1} w_k g_{t-k} with state (x_t, α g_{t-1}, ..., α g_{t-K+1}).

    Args:
        alpha: step size α > 0.
        weights: w_0, ..., w_{K-1}, finite reals (w_k = 0 for a lag that is not stored).
        name: label of the system.
    """
    alpha = require_positive("alpha", alpha)
    weights = np.asarray(weights, dtype=float).reshape(-1)
    if weights.size < 1 or not np.all(np.isfinite(weights)):
        raise ValueError(f"invalid weights={weights.tolist()}: need at least w_0, all finite")
    K = weights.size

    # x_{t+1} = x_t − w_0 (α g_t) − Σ_{k>=1} w_k (α g_{t-k}); the memory shifts by one slot and
    # takes α g_t into its first slot. With u_t = g_t, B carries −α w_0 and α.
    A = np.zeros((K, K))
    A[0, 0] = 1.0
    A[0, 1:] = -weights[1:]
    for slot in range(2, K):
        A[slot, slot - 1] = 1.0
    B = np.zeros(K)
    B[0] = -alpha * weights[0]
    if K > 1:
        B[1] = alpha
    C = np.zeros(K)
    C[0] = 1.0
    label = name or f"gradient-memory(alpha={alpha:g}, w={np.round(weights, 6).tolist()})"
    return _system(A, B, C, C, C, label, {"alpha": alpha, "weights": weights.tolist()})


def sgdc_weights(K: int, lags: Sequence[int], aggr: str) -> np.ndarray:
    """Return w_0, ..., w_{K-1} of SGDC for the stored lags (the ``mean`` or ``sum`` aggregation)."""
    count = len(lags)
    weights = np.zeros(K)
    if aggr == "mean":
        weights[0] = 1.0 / (count + 1)
        weights[list(lags)] = 1.0 / (count + 1)
    else:
        weights[0] = 1.0
        if count:
            weights[list(lags)] = 1.0 / count
    return weights


def validate_sgdc(alpha, K, topC, aggr) -> tuple[float, int, int, str]:
    """Validate SGDC's hyperparameters; raise ValueError naming the value and the rule."""
    alpha = require_positive("alpha", alpha)
    K = require_int_at_least("K", K, 2)
    topC = require_int_at_least("topC", topC, 1)
    if topC >= K:
        raise ValueError(
            f"invalid topC={topC}, K={K}: the buffer stores topC of the last K-1 gradients, so topC must be < K"
        )
    aggr = require_choice("aggr", aggr, AGGREGATIONS)
    return alpha, K, topC, aggr


def _lags_label(lags) -> str:
    return ",".join(str(k) for k in lags) if lags else "none"


def sgdc(alpha: float, K: int, topC: int, aggr: str = "sum", lags: Sequence[int] | None = None) -> LinearSystem:
    """Build SGDC with a fixed buffer: the stored lags never change.

    Args:
        alpha: step size α > 0.
        K: staleness bound K >= 2; stored gradients have lags 1..K-1.
        topC: buffer size C, 1 <= topC < K.
        aggr: ``"mean"`` or ``"sum"`` (module docstring).
        lags: the topC stored lags, distinct integers in 1..K-1; default 1..topC,
            the most recent gradients.
    """
    alpha, K, topC, aggr = validate_sgdc(alpha, K, topC, aggr)
    if lags is None:
        lags = tuple(range(1, topC + 1))
    lags = tuple(sorted(int(k) for k in lags))
    if len(set(lags)) != topC or any(k < 1 or k > K - 1 for k in lags):
        raise ValueError(f"invalid lags={list(lags)}: need topC={topC} distinct lags in 1..K-1 = 1..{K - 1}")
    weights = sgdc_weights(K, lags, aggr)
    system = gradient_memory(alpha, weights, name=f"sgdc({aggr}, K={K}, lags {_lags_label(lags)})")
    system.parameters.update({"K": K, "topC": topC, "aggr": aggr, "lags": list(lags)})
    return system


def filling_modes(alpha: float, K: int, topC: int, aggr: str = "sum") -> list[LinearSystem]:
    """Build the modes of steps t = 0..topC-1, while the buffer contains the lags 1..t."""
    alpha, K, topC, aggr = validate_sgdc(alpha, K, topC, aggr)
    modes = []
    for count in range(topC):
        lags = tuple(range(1, count + 1))
        system = gradient_memory(alpha, sgdc_weights(K, lags, aggr), name=f"sgdc({aggr}, K={K}, filling {_lags_label(lags)})")
        system.parameters.update({"K": K, "topC": topC, "aggr": aggr, "lags": list(lags), "filling": True})
        modes.append(system)
    return modes


def sgdc_modes(
    alpha: float, K: int, topC: int, aggr: str = "sum", *, include_filling: bool = False, max_modes: int = 5000
) -> list[LinearSystem]:
    """Build every fixed-buffer SGDC system: one per topC-subset of the lags 1..K-1.

    A switching buffer runs one of these modes at each step. The set allows any
    switching, which contains every membership sequence that the topC heuristic
    (with any decay) can produce under the staleness bound K.

    Args:
        include_filling: also add the topC modes of the filling buffer
            (:func:`filling_modes`), so a certificate covers steps from t = 0.
        max_modes: raise ValueError beyond this many subsets (C(K-1, topC) grows fast).
    """
    alpha, K, topC, aggr = validate_sgdc(alpha, K, topC, aggr)
    count = math.comb(K - 1, topC)
    if count > max_modes:
        raise ValueError(
            f"invalid K={K}, topC={topC}: the switching buffer has C({K - 1},{topC}) = {count} modes, "
            f"more than max_modes={max_modes}; use a smaller K or a fixed buffer"
        )
    modes = [sgdc(alpha, K, topC, aggr, lags) for lags in itertools.combinations(range(1, K), topC)]
    if include_filling:
        modes = filling_modes(alpha, K, topC, aggr) + modes
    return modes


def sgdc_filling_schedule(alpha: float, K: int, topC: int, aggr: str, steps: int) -> list[LinearSystem]:
    """Return the systems of steps 0..steps-1 of SGDC from an empty buffer that keeps the newest gradients.

    The buffer fills with lags 1..t at steps t < topC, then keeps the lags 1..topC.
    """
    steps = require_int_at_least("steps", steps, 1)
    filling = filling_modes(alpha, K, topC, aggr)
    full = sgdc(alpha, K, topC, aggr)
    return [filling[t] if t < topC else full for t in range(steps)]


def build_algorithm(
    algorithm: str,
    alpha: float,
    *,
    beta: float | None = None,
    K: int | None = None,
    topC: int | None = None,
    aggr: str = "sum",
    lags: Sequence[int] | None = None,
    switching: bool = False,
    include_filling: bool = False,
) -> list[LinearSystem]:
    """Build the modes of a named algorithm (one mode unless SGDC's buffer switches).

    ``algorithm`` is one of ``gd``, ``heavy-ball``, ``nesterov``, ``sgdc``.
    """
    algorithm = require_choice("algorithm", algorithm, ALGORITHMS)
    if algorithm != "sgdc" and switching:
        raise ValueError(f"invalid switching for algorithm={algorithm!r}: only sgdc has a switching buffer")
    if include_filling and not switching:
        raise ValueError("invalid include_filling without switching: the filling modes join a switching buffer")
    if algorithm == "gd":
        return [gradient_descent(alpha)]
    if algorithm in ("heavy-ball", "nesterov"):
        if beta is None:
            raise ValueError(f"missing beta: {algorithm} needs a momentum beta in [0, 1)")
        return [(heavy_ball if algorithm == "heavy-ball" else nesterov)(alpha, beta)]
    if K is None or topC is None:
        raise ValueError("missing K or topC: sgdc needs the staleness bound K and the buffer size topC")
    if switching:
        if lags is not None:
            raise ValueError("invalid lags with switching: a switching buffer takes every topC-subset of 1..K-1")
        return sgdc_modes(alpha, K, topC, aggr, include_filling=include_filling)
    return [sgdc(alpha, K, topC, aggr, lags)]

