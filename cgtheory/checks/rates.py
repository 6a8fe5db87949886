"""Checks of the convergence claims of "Memory Augmented Optimizers for Deep Learning" (ICLR 2022).

``cgtheory verify`` runs four checks against certified rates. They cover
the proof's reduction from block matrices to scalars and the rate SGDC has
for the buffer sizes of the paper's experiments. They also test whether
memory buys a rate faster than gradient descent, and a corrected Theorem 1
with its noise floor. All rates
use the curvature range µ = 1, L = 10 (κ = 10), because the paper fixes
none. Each verdict is computed from the numbers of its check.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
from scipy import optimize

from cgtheory.checks import CheckContext, register
from cgtheory.report import ClaimCheck, Verdict

logger = logging.getLogger(__name__)

MU, L_SMOOTH = 1.0, 10.0
GD_BEST = (L_SMOOTH - MU) / (L_SMOOTH + MU)
THEOREM1 = "Section 3, Theorem 1"
PROOF = "Appendix B, Eqs. (10)-(11)"


def _command(key: str) -> str:
    return f"cgtheory verify --only {key}"


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# ---------------------------------------------------------------------------
# (a) The reduction from blocks to scalars.


def _random_symmetric(rng, d, mu, L):
    rotation = np.linalg.qr(rng.normal(size=(d, d)))[0]
    return rotation @ np.diag(rng.uniform(mu, L, size=d)) @ rotation.T


def _block_norm_matrix(alpha, weights, hessians):
    """Return the K×K matrix of block norms of A_t (companion form)."""
    K = len(hessians)
    d = hessians[0].shape[0]
    matrix = np.zeros((K, K))
    matrix[0, 0] = np.linalg.norm(np.eye(d) - alpha * hessians[0], 2)
    for k in range(1, K):
        matrix[0, k] = alpha * weights[k - 1] * np.linalg.norm(hessians[k], 2)
        matrix[k, k - 1] = 1.0
    return matrix


def _rayleigh_witness(alpha, weights, hessians, matrix):
    """Return (|z|, residual, η) for the top eigenpair: z solves the scalar polynomial at Rayleigh quotients η_k."""
    K = len(hessians)
    d = hessians[0].shape[0]
    values, vectors = np.linalg.eig(matrix)
    top = int(np.argmax(np.abs(values)))
    z = values[top]
    x = vectors[-d:, top]  # the oldest block holds x; the block k from the top is z^{K-1-k} x
    x = x / np.linalg.norm(x)
    etas = np.array([np.real(np.vdot(x, h @ x)) for h in hessians])
    coefficients = np.zeros(K + 1, dtype=complex)
    coefficients[0] = 1.0
    coefficients[1] = -(1.0 - alpha * etas[0])
    coefficients[2:] = alpha * np.asarray(weights) * etas[1:]
    residual = abs(np.polyval(coefficients, z)) / max(1.0, abs(z) ** K)
    return abs(z), residual, etas


def _scalar_sup_k2(alpha, mu, L, points):
    """sup over η_0, η_1 ∈ [µ, L], w ∈ [0, 1] of the spectral radius of [[1 − αη_0, −αwη_1], [1, 0]], on a grid."""
    eta = np.linspace(mu, L, points)
    w = np.linspace(0.0, 1.0, points)
    trace = (1.0 - alpha * eta)[:, None, None]
    determinant = (alpha * eta)[None, :, None] * w[None, None, :]
    root = np.sqrt((trace**2 - 4.0 * determinant).astype(complex))
    return float(np.maximum(np.abs((trace + root) / 2), np.abs((trace - root) / 2)).max())


@register("rates-block-reduction", "Theorem 1's proof: from block matrices to scalars")
def check_block_reduction(context: CheckContext) -> ClaimCheck:
    """Test the proof's step ‖A_t‖ <= sup σ_max(Λ) and its eigenvalue analogue on random and adversarial blocks."""
    from cgtheory.companion import block_matrix
    from cgtheory.contraction import contraction_factor

    rng = np.random.default_rng(context.seed)
    samples = 300 if context.quick else 3000
    norm_ratio_max, block_gap_max, commutator_max = 0.0, -np.inf, 0.0
    residual_max, rayleigh_gap_max, ratios = 0.0, -np.inf, []
    for _ in range(samples):
        K = int(rng.integers(2, 5))
        d = int(rng.integers(2, 4))
        alpha = float(rng.uniform(0.01, 2.0)) / L_SMOOTH
        weights = rng.uniform(0.0, 1.0, size=K - 1)
        hessians = [_random_symmetric(rng, d, MU, L_SMOOTH) for _ in range(K)]
        matrix = block_matrix(alpha, weights, hessians, form="companion")
        q = contraction_factor(alpha, K, MU, L_SMOOTH, form="companion").q

        norm = np.linalg.norm(matrix, 2)
        norm_ratio_max = max(norm_ratio_max, norm / q)
        ratios.append(norm / q)
        block_gap_max = max(block_gap_max, norm - np.linalg.norm(_block_norm_matrix(alpha, weights, hessians), 2))
        commutator_max = max(commutator_max, np.linalg.norm(hessians[0] @ hessians[1] - hessians[1] @ hessians[0], 2))

        _, residual, etas = _rayleigh_witness(alpha, weights, hessians, matrix)
        residual_max = max(residual_max, residual)
        rayleigh_gap_max = max(rayleigh_gap_max, float(np.max(np.maximum(MU - etas, etas - L_SMOOTH))))

    # Adversarial search at K = 2, d = 2: maximize ρ(A_t) over non-commuting blocks and compare with
    # the scalar supremum on a dense grid.
    alphas = [0.05, 0.1, 0.15] if context.quick else [0.02, 0.06, 0.1, 0.15, 0.19]
    grid_points = 121 if context.quick else 201
    eig_excess_max = -np.inf
    for alpha in alphas:
        scalar_sup = _scalar_sup_k2(alpha, MU, L_SMOOTH, grid_points)

        def negative_radius(x):
            h0 = np.diag(x[0:2])
            c, s = math.cos(x[4]), math.sin(x[4])
            rotation = np.array([[c, -s], [s, c]])
            h1 = rotation @ np.diag(x[2:4]) @ rotation.T
            matrix = block_matrix(alpha, [x[5]], [h0, h1], form="companion")
            return -float(np.abs(np.linalg.eigvals(matrix)).max())

        bounds = [(MU, L_SMOOTH)] * 4 + [(0.0, math.pi), (0.0, 1.0)]
        result = optimize.differential_evolution(
            negative_radius, bounds, seed=context.seed, maxiter=30 if context.quick else 100, tol=1e-10, polish=True
        )
        eig_excess_max = max(eig_excess_max, -result.fun - scalar_sup)

    norm_holds = norm_ratio_max <= 1.0 + 1e-12 and block_gap_max <= 1e-12
    eig_holds = residual_max <= 1e-8 and rayleigh_gap_max <= 1e-12 and eig_excess_max <= 1e-6
    commute = commutator_max <= 1e-8
    if not (norm_holds and eig_holds):
        verdict = Verdict.FAILS
    elif not commute:
        verdict = Verdict.HOLDS_AFTER_CORRECTION
    else:
        verdict = Verdict.HOLDS

    figures = []
    path, link = context.figure_path("rates_block_reduction.png")
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.hist(ratios, bins=40, color="tab:blue")
    ax.axvline(1.0, color="black", linestyle="--", label="‖A_t‖₂ = q(α, K)")
    ax.set_xlabel("‖A_t‖₂ / q(α, K)  (random symmetric blocks, K = 2..4, d = 2..3)")
    ax.set_ylabel("number of samples")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    figures.append(link)

    numbers = [
        ("random samples (K = 2..4, d = 2..3, µ = 1, L = 10)", str(samples)),
        ("max ‖A_t‖₂ / q(α, K), companion form", f"{norm_ratio_max:.12f}"),
        ("max ‖A_t‖₂ − σ_max(block-norm matrix)", f"{block_gap_max:.3e}"),
        ("max ‖H_0 H_1 − H_1 H_0‖₂ (symmetric blocks that do not commute)", f"{commutator_max:.3f}"),
        ("max residual of the top eigenvalue in the scalar polynomial at Rayleigh quotients", f"{residual_max:.2e}"),
        ("max distance of a Rayleigh quotient outside [µ, L]", f"{max(rayleigh_gap_max, 0.0):.2e}"),
        ("max ρ(A_t) − scalar sup ρ(Λ), adversarial search at K = 2", f"{eig_excess_max:.2e}"),
    ]
    details = (
        "The proof justifies ‖A_t‖ <= sup σ_max(Λ) by saying that the symmetric blocks commute; symmetric "
        "matrices need not commute (the commutator row above). The inequality itself holds without "
        "commutativity: ‖A_t‖₂ is at most σ_max of the K×K matrix of block norms, whose first row "
        "(‖I − αH_t‖, αw_1‖H_{t-1}‖, ...) is entrywise at most (max|1 − αη|, αL, ..., αL), and σ_max of a "
        "nonnegative matrix grows with its entries, which gives q(α, K) in the companion form. The "
        "eigenvalue analogue also holds without commutativity: if A_t v = z v, the oldest block x of v "
        "satisfies z^K x − z^{K−1}(I − αH_t)x + α Σ_k w_k z^{K−1−k} H_{t−k} x = 0, and multiplying by x* "
        "shows that z is a root of the scalar polynomial with η_k = x*H_{t−k}x/x*x ∈ [µ, L]. So no "
        "non-commuting example with ρ(A_t) above the scalar supremum exists, and the search found none. "
        "The step is sound once its justification is replaced; the bound it feeds is vacuous all the same, "
        "because q(α, K) >= 1 for K >= 2. The proof prints A_t with identity blocks on the diagonal; the "
        "recursion's matrix, used here, has them on the block subdiagonal."
    )
    return ClaimCheck(
        key="rates-block-reduction",
        title="Theorem 1's proof: from block matrices to scalars",
        location=PROOF,
        claim="‖A_t‖₂ <= sup over w_k ∈ [0, 1], η_k ∈ [µ, L] of σ_max(Λ), because the symmetric blocks of A_t commute.",
        method=(
            "(1) Random symmetric blocks with eigenvalues in [µ, L]: ‖A_t‖₂ against q(α, K) and against the "
            "block-norm matrix. (2) For eigenvalues, a Rayleigh-quotient witness for every sample, and a "
            "differential-evolution search over non-commuting 2×2 blocks against the scalar supremum on a "
            "dense grid."
        ),
        verdict=verdict,
        command=_command("rates-block-reduction"),
        numbers=numbers,
        details=details,
        figures=figures,
    )


# ---------------------------------------------------------------------------
# (b) SGDC's rate for the buffer sizes of the experiments (topC 5-20).


def _sgdc_builders(topC, aggr, switching):
    from cgtheory.rates.systems import sgdc, sgdc_modes

    if switching:
        K = topC + 2
        return K, (lambda alpha: sgdc_modes(alpha, K, topC, aggr))
    K = topC + 1
    return K, (lambda alpha: [sgdc(alpha, K, topC, aggr)])


@register("rates-sgdc-paper-hyperparameters", "SGDC's true rate for the paper's hyperparameters")
def check_sgdc_paper_rates(context: CheckContext) -> ClaimCheck:
    """Compare q(α, K), the quadratic rate and the certified IQC rate of SGDC over α."""
    from cgtheory.contraction import contraction_factor
    from cgtheory.rates.analysis import stable_step_sizes
    from cgtheory.rates.iqc import iqc_rate
    from cgtheory.rates.spectral import worst_case_spectral_radius

    start = time.perf_counter()
    alpha_points = 4 if context.quick else 10
    tolerance = 1e-3 if context.quick else 2e-4
    configurations = [(topC, aggr, False) for topC in (5, 10, 20) for aggr in ("sum", "mean")]
    configurations += [(topC, aggr, True) for topC in (5, 10) for aggr in ("sum", "mean")]

    rows = []
    curves = {}
    q_min = np.inf
    all_certified = True
    for topC, aggr, switching in configurations:
        K, build = _sgdc_builders(topC, aggr, switching)
        stable = stable_step_sizes(build, MU, L_SMOOTH)
        alpha_high = stable[-1][1] if stable else 2.0 / L_SMOOTH
        # A switching SDP at topC = 10 has 11 LMI blocks, so the quick run gives it one α fewer.
        points = alpha_points - 1 if switching and context.quick else alpha_points
        alphas = np.geomspace(alpha_high / 40.0, 0.97 * alpha_high, points)
        quadratic, certified, q_values = [], [], []
        for alpha in alphas:
            modes = build(float(alpha))
            worst = max(worst_case_spectral_radius(m, MU, L_SMOOTH, tolerance=1e-8).rate for m in modes)
            quadratic.append(worst)
            result = iqc_rate(modes, MU, L_SMOOTH, tolerance=tolerance, lower=worst) if worst < 1.0 else None
            certified.append(result.rate if result is not None and result.certified and result.rate < 1 else np.inf)
            q_values.append(contraction_factor(float(alpha), K, MU, L_SMOOTH).q)
        q_min = min(q_min, min(q_values))
        best = int(np.argmin(certified))
        has_certificate = bool(np.isfinite(certified[best]))
        all_certified &= has_certificate
        label = f"topC={topC}, {aggr}, K={K}" + (f", switching ({len(build(1.0))} modes)" if switching else ", fixed")
        rows.append(
            (
                label,
                f"best certified ρ = {certified[best]:.4f} at α = {alphas[best]:.4g} "
                f"(quadratic worst case {quadratic[best]:.4f}, q = {q_values[best]:.3f})"
                if has_certificate
                else "no certified α on the grid",
            )
        )
        dense = np.geomspace(alphas[0], alphas[-1], 40)
        dense_quadratic = (
            [worst_case_spectral_radius(build(float(a))[0], MU, L_SMOOTH, tolerance=1e-7).rate for a in dense]
            if not switching
            else None
        )
        curves[(topC, aggr, switching)] = (K, alphas, np.array(certified), dense, dense_quadratic)

    verdict = Verdict.HOLDS_AFTER_CORRECTION if q_min >= 1.0 and all_certified else (
        Verdict.FAILS if q_min < 1.0 else Verdict.NOT_DECIDABLE
    )

    figures = []
    path, link = context.figure_path("rates_sgdc_paper_hyperparameters.png")
    plt = _figure()
    from matplotlib.ticker import NullFormatter

    ceiling = 1.5
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5), sharey=True)
    for column, topC in enumerate((5, 10, 20)):
        for row, aggr in enumerate(("sum", "mean")):
            ax = axes[row, column]
            K, alphas, certified, dense, dense_quadratic = curves[(topC, aggr, False)]
            q_dense = np.array([contraction_factor(float(a), K, MU, L_SMOOTH).q for a in dense])
            ax.plot(dense, np.minimum(q_dense, ceiling), color="tab:red", label=f"Theorem 1's q(α, K) (cut at {ceiling})")
            ax.plot(dense, dense_quadratic, color="tab:blue", label="exact worst case over quadratics, fixed buffer")
            ax.plot(alphas, np.where(np.isfinite(certified), certified, np.nan), "s--", color="tab:green", label="IQC certified, fixed buffer (K = topC + 1)")
            if (topC, aggr, True) in curves:
                _, alphas2, certified2, _, _ = curves[(topC, aggr, True)]
                ax.plot(alphas2, np.where(np.isfinite(certified2), certified2, np.nan), "^:", color="tab:purple", label="IQC certified, switching buffer (K = topC + 2)")
            ax.axhline(1.0, color="black", linewidth=0.8)
            ax.axhline(GD_BEST, color="gray", linestyle=":", label="gradient descent's best rate")
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_ylim(0.8, ceiling + 0.02)
            ax.set_title(f"topC = {topC}, aggr = {aggr}")
            ax.set_xlabel("step size α")
            if column == 0:
                ax.set_ylabel("rate ρ per step")
    axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.suptitle("SGDC on quadratics and on every 1-strongly convex, 10-smooth f: Theorem 1's q against rates that hold")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    figures.append(link)

    numbers = [
        ("curvature range", "µ = 1, L = 10"),
        ("min over every configuration and α of q(α, K)", f"{q_min:.4f}"),
        ("gradient descent's best rate (κ − 1)/(κ + 1)", f"{GD_BEST:.4f}"),
        *rows,
        ("α values per configuration; IQC tolerance", f"{alpha_points}; {tolerance:g}"),
        ("time", f"{time.perf_counter() - start:.1f} s"),
    ]
    details = (
        "The paper's decay (0.7-0.99) enters only through the staleness bound K: it decides how long a "
        "gradient stays in the buffer, and no value of it bounds K by itself. For a buffer of topC gradients "
        "K can be any integer >= topC + 1, so two representatives are checked: K = topC + 1, where the buffer "
        "must hold the topC most recent gradients (one linear system), and K = topC + 2, where it holds any "
        "topC of the last topC + 1 (a switching system with topC + 1 modes, certified by one IQC "
        "certificate shared by all modes). Larger K are not checked because the number of modes, "
        "C(K−1, topC), grows quickly. 'Quadratics' is the exact worst case over quadratics with curvature "
        "in [µ, L] (the worst single buffer for the switching case, a lower bound); 'IQC certified' holds "
        "for every µ-strongly convex, L-smooth f. Theorem 1's q(α, K) is >= 1 at every α, while certified "
        "rates below 1 exist for every configuration: SGDC converges linearly, but not at the rate the "
        "theorem states, and never faster than gradient descent's best rate here."
    )
    return ClaimCheck(
        key="rates-sgdc-paper-hyperparameters",
        title="SGDC's true rate for the paper's hyperparameters",
        location=f"{THEOREM1}; Section 5 (topC 5-20, decay 0.7-0.99)",
        claim="For a small enough step size α, SGDC with the paper's buffer sizes converges linearly at rate q(α, K).",
        method=(
            "For each buffer size and aggregation, over a geometric grid of α below the provable stability "
            "limit: (1) q(α, K) in closed form; (2) the exact worst-case spectral radius over quadratics, by "
            "root-crossing bisection; (3) the smallest ρ certified by the IQC LMI (sector and off-by-one), "
            "solved with Clarabel and verified in float64."
        ),
        verdict=verdict,
        command=_command("rates-sgdc-paper-hyperparameters"),
        numbers=numbers,
        details=details,
        figures=figures,
    )


# ---------------------------------------------------------------------------
# (c) Does memory buy a faster rate?


def _best_quadratic_rate(build, grid_points):
    """Minimize the exact quadratic worst case over α: a grid below the stability limit, then a bounded refinement."""
    from cgtheory.rates.analysis import stable_step_sizes
    from cgtheory.rates.spectral import worst_case_spectral_radius

    stable = stable_step_sizes(build, MU, L_SMOOTH)
    if not stable:
        return np.inf, float("nan")
    alpha_high = stable[-1][1]

    def rate(alpha):
        return worst_case_spectral_radius(build(float(alpha))[0], MU, L_SMOOTH, tolerance=1e-9).rate

    grid = np.linspace(alpha_high / grid_points, alpha_high, grid_points)
    values = np.array([rate(a) for a in grid])
    index = int(np.argmin(values))
    low, high = grid[max(index - 1, 0)], grid[min(index + 1, grid.size - 1)]
    refined = optimize.minimize_scalar(rate, bounds=(low, high), method="bounded", options={"xatol": 1e-9})
    if refined.fun < values[index]:
        return float(refined.fun), float(refined.x)
    return float(values[index]), float(grid[index])


@register("rates-memory-acceleration", "Memory K > 1 against gradient descent's best rate")
def check_memory_acceleration(context: CheckContext) -> ClaimCheck:
    """Minimize SGDC's quadratic worst case over α for each weight structure and compare with gradient descent."""
    from cgtheory.rates.iqc import iqc_rate
    from cgtheory.rates.spectral import spectral_radius_on_grid
    from cgtheory.rates.systems import gradient_memory, sgdc

    start = time.perf_counter()
    grid_points = 50 if context.quick else 200
    structures = [(aggr, topC, None) for aggr in ("sum", "mean") for topC in (1, 2, 3, 5, 10, 20)]
    structures += [("sum", 1, lag) for lag in (2, 3, 5)]

    rows, best_sgdc, best_label, best_alpha = [], np.inf, "", float("nan")
    for aggr, topC, lag in structures:
        K = (lag + 1) if lag else topC + 1
        lags = (lag,) if lag else None

        def build(alpha, aggr=aggr, K=K, topC=topC, lags=lags):
            return [sgdc(alpha, K, topC, aggr, lags)]

        rate, alpha = _best_quadratic_rate(build, grid_points)
        label = f"{aggr}, topC={topC}, lags {lag if lag else f'1..{topC}'}"
        rows.append((f"min over α, {label}", f"{rate:.4f} at α = {alpha:.4g}"))
        if rate < best_sgdc:
            best_sgdc, best_label, best_alpha, best_build = rate, label, alpha, build

    # Second, independent way for the best structure: eigenvalues on a dense (α, η) grid.
    alphas = np.linspace(0.5 * best_alpha, 1.5 * best_alpha, 41 if context.quick else 81)
    brute = min(spectral_radius_on_grid(best_build(float(a))[0], MU, L_SMOOTH, 401 if context.quick else 1001)[1].max() for a in alphas)

    # Weights that SGDC's aggregations cannot produce: K = 2, w_0 = 1, w_1 ∈ [0, 1], tuned with α.
    from cgtheory.rates.spectral import worst_case_spectral_radius

    def tuned(x):
        return worst_case_spectral_radius(gradient_memory(x[0] / L_SMOOTH, [1.0, x[1]]), MU, L_SMOOTH, tolerance=1e-9).rate

    coarse = 25 if context.quick else 60
    candidates = [(tuned((a, w)), a, w) for a in np.linspace(0.05, 3.0, coarse) for w in np.linspace(0.0, 1.0, coarse)]
    _, a0, w0 = min(candidates)
    refined = optimize.minimize(tuned, [a0, w0], method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-10})
    tuned_rate, (tuned_alpha, tuned_weight) = float(refined.fun), refined.x
    tuned_iqc = iqc_rate(gradient_memory(tuned_alpha / L_SMOOTH, [1.0, tuned_weight]), MU, L_SMOOTH, tolerance=1e-4)

    faster = best_sgdc < GD_BEST - 1e-9 or brute < GD_BEST - 1e-9
    verdict = Verdict.HOLDS if faster else Verdict.FAILS

    figures = []
    path, link = context.figure_path("rates_memory_acceleration.png")
    plt = _figure()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    labels = [name.replace("min over α, ", "") for name, _ in rows]
    values = [float(value.split()[0]) for _, value in rows]
    ax.barh(range(len(values)), values, color="tab:blue")
    ax.axvline(GD_BEST, color="black", linestyle="--", label=f"gradient descent's best, {GD_BEST:.3f}")
    ax.axvline(tuned_rate, color="tab:green", linestyle=":", label=f"K = 2 with tuned w_1 = {tuned_weight:.2f}, {tuned_rate:.3f}")
    ax.set_yticks(range(len(values)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlim(0.6, 1.0)
    ax.set_xlabel("best worst-case rate over quadratics, min over α (µ = 1, L = 10)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    figures.append(link)

    numbers = [
        ("gradient descent's best rate (κ − 1)/(κ + 1), κ = 10", f"{GD_BEST:.4f}"),
        ("best SGDC weight structure", f"{best_label}: {best_sgdc:.4f}"),
        ("same, on a dense (α, η) eigenvalue grid", f"{brute:.4f}"),
        *rows,
        ("K = 2 with tuned w_1 ∈ [0, 1] (not an SGDC aggregation), quadratics", f"{tuned_rate:.4f} (α = {tuned_alpha / L_SMOOTH:.4g}, w_1 = {tuned_weight:.3f})"),
        ("same weights, IQC certified for every smooth strongly convex f", f"{tuned_iqc.rate:.4f}" if tuned_iqc.certified else "not certified"),
        ("time", f"{time.perf_counter() - start:.1f} s"),
    ]
    details = (
        "Quadratics are a subclass of the µ-strongly convex, L-smooth functions, so a method's worst case over "
        "quadratics is a lower bound on its worst case over the whole class: if SGDC cannot beat gradient "
        "descent on quadratics, no analysis can make it faster. With SGDC's aggregations (uniform weights on "
        "the stored gradients, mean or sum) the best rate over α stays above gradient descent's for every "
        "buffer tried; the best is the buffer of one gradient, where mean and sum coincide up to α. Other "
        "nonnegative weights do accelerate on quadratics (the tuned K = 2 row), so the paper's remark that "
        "weights might be chosen for acceleration is right for quadratics, but not for the weights SGDC uses; "
        "for those tuned weights the IQC certifies only the rate in the row below it for general f. The "
        "minimization over α is a grid with a local refinement, a numerical minimum, cross-checked by the "
        "dense eigenvalue grid."
    )
    return ClaimCheck(
        key="rates-memory-acceleration",
        title="Memory K > 1 against gradient descent's best rate",
        location=f"{THEOREM1}, the discussion after it",
        claim=(
            "With memory K > 1, the step size and the aggregation weights of SGDC can be chosen to converge faster "
            "than SGD (rates below gradient descent's best (L − µ)/(L + µ))."
        ),
        method=(
            "For each of SGDC's weight structures, the exact worst-case rate over quadratics minimized over α "
            "(grid below the stability limit, then a bounded refinement); the best structure again on a dense "
            "(α, η) grid of eigenvalues; K = 2 with a tuned weight for contrast, with its IQC rate."
        ),
        verdict=verdict,
        command=_command("rates-memory-acceleration"),
        numbers=numbers,
        details=details,
        figures=figures,
    )


# ---------------------------------------------------------------------------
# (d) A corrected Theorem 1.


@register("rates-corrected-theorem1", "A corrected Theorem 1 with a noise floor")
def check_corrected_theorem1(context: CheckContext) -> ClaimCheck:
    """Certify SGDC, derive E‖θ_t − θ*‖² <= c ρ^{2t} + floor, and test it by simulation and PEP."""
    from cgtheory.contraction import contraction_factor
    from cgtheory.rates.iqc import iqc_rate
    from cgtheory.rates.noise import noisy_bound
    from cgtheory.rates.simulate import logcosh_gradient, quadratic_gradient, simulate
    from cgtheory.rates.systems import sgdc, sgdc_modes

    start = time.perf_counter()
    rng = np.random.default_rng(context.seed)
    topC, aggr, alpha, sigma2 = 5, "sum", 0.05, 0.01
    seeds = 200 if context.quick else 1000
    steps = 120 if context.quick else 300
    dimension = 10

    fixed = sgdc(alpha, topC + 1, topC, aggr)
    modes = sgdc_modes(alpha, topC + 2, topC, aggr)
    cases = [("fixed buffer, K = 6", [fixed]), (f"switching buffer, K = 7 ({len(modes)} modes)", modes)]

    rotation = np.linalg.qr(rng.normal(size=(dimension, dimension)))[0]
    hessian = rotation @ np.diag(np.linspace(MU, L_SMOOTH, dimension)) @ rotation.T
    functions = [("quadratic", quadratic_gradient(hessian)), ("log-cosh (non-quadratic)", logcosh_gradient(MU, L_SMOOTH, rotation))]

    rows, bound_valid, plotted, bounds = [], True, [], []
    for label, systems in cases:
        certificate = iqc_rate(systems, MU, L_SMOOTH, tolerance=1e-5)
        if not certificate.certified:
            rows.append((label, "no certificate"))
            bound_valid = False
            continue
        bound = noisy_bound(certificate, sigma2, initial_direction=systems[0].fixed_point)
        curve = bound.values(steps + 1, 1.0)
        bounds.append((label, curve))
        rows.append(
            (
                f"{label}: certified ρ, c, floor",
                f"ρ = {bound.rho:.5f}, c = {bound.constant:.3g}, floor = {bound.floor:.3g} (σ² = {sigma2:g})",
            )
        )
        K = systems[0].parameters["K"]
        rows.append((f"{label}: Theorem 1's q(α, K)", f"{contraction_factor(alpha, K, MU, L_SMOOTH).q:.4f} (>= 1: no bound)"))
        for name, gradient in functions:
            run = simulate(systems, gradient, dimension, steps, sigma2=sigma2, seeds=seeds, rng=rng)
            # The empirical mean must stay below the bound even after adding three standard errors.
            excess = float(np.max(run.mean - 3.0 * run.standard_error - curve))
            bound_valid &= excess <= 0.0
            rows.append(
                (
                    f"{label}, {name}: max over t of (empirical mean − 3 s.e. − bound)",
                    f"{excess:.3g} (mean at t = {steps}: {run.mean[-1]:.3g}, bound {curve[-1]:.3g})",
                )
            )
            plotted.append((f"{label}, {name}", run.mean))

    pep_rows = []
    try:
        from cgtheory.rates.pep import pep_worst_case

        certificate = iqc_rate([fixed], MU, L_SMOOTH, tolerance=1e-5)
        bound = noisy_bound(certificate, 0.0, initial_direction=fixed.fixed_point)
        for N in ((1, 3, 6) if context.quick else (1, 2, 4, 6, 8, 10)):
            result = pep_worst_case(fixed, MU, L_SMOOTH, N)
            limit = bound.constant * bound.rho ** (2 * N)
            bound_valid &= result.value <= limit * (1 + 1e-6)
            pep_rows.append((f"PEP worst case of ‖θ_N − θ*‖² / ‖θ_0 − θ*‖², N = {N}", f"{result.value:.4g} <= c ρ^(2N) = {limit:.4g}"))
    except ImportError:
        pep_rows.append(("PEP cross-check", "skipped: PEPit is not installed"))

    verdict = Verdict.HOLDS_AFTER_CORRECTION if bound_valid else Verdict.FAILS

    figures = []
    path, link = context.figure_path("rates_corrected_theorem1.png")
    plt = _figure()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for (name, mean), color in zip(plotted, ("tab:blue", "tab:orange", "tab:green", "tab:red")):
        ax.plot(mean, color=color, label=f"empirical mean, {name}")
    for (name, curve), style in zip(bounds, ("--", ":")):
        ax.plot(curve, color="black", linestyle=style, label=f"certified bound, {name}")
    ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel("E‖θ_t − θ*‖²")
    ax.legend(fontsize=7)
    ax.set_title(f"SGDC ({aggr}, topC = {topC}, α = {alpha}), σ² = {sigma2}, d = {dimension}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    figures.append(link)

    numbers = rows + pep_rows + [("runs per curve; steps", f"{seeds}; {steps}"), ("time", f"{time.perf_counter() - start:.1f} s")]
    details = (
        "Corrected statement. Let f be µ-strongly convex and L-smooth, and let the stochastic gradients "
        "g_k = ∇f(θ_k) + ζ_k satisfy E[ζ_k | past] = 0 and E[‖ζ_k‖² | past] <= σ². Write SGDC as the linear "
        "system ξ_{t+1} = A ξ_t + B g_t with ξ_t = (θ_t, αg_{t−1}, ..., αg_{t−K+1}), one system per buffer "
        "configuration. If the IQC LMI (sector and off-by-one constraints, one P and one pair of multipliers "
        "shared by every configuration) has a verified solution at rate ρ < 1, then for every t >= 0\n\n"
        "    E‖θ_t − θ*‖² <= c ρ^{2t} ‖ξ_0 − ξ*‖² + π b σ² (1 − ρ^{2t}) / (1 − ρ²),\n\n"
        "with π = e_θᵀP⁻¹e_θ, b the largest B̂ᵀPB̂ over configurations and c = π (λ_max(P) + λ_o h²‖C‖²/ρ²) "
        "(``cgtheory.rates.noise``); with the buffer empty at the start, ‖ξ_0 − ξ*‖² = ‖θ_0 − θ*‖² and "
        "λ_max(P) becomes P_00. The step size comes from `cgtheory stepsizes --criterion iqc`, not from "
        "q(α, K), which is >= 1 for every K >= 2. P is the best-conditioned one at the certified ρ, yet the "
        "empirical means stay one to two orders of magnitude below the bound; what the runs test is that the "
        "bound is never violated. The switching runs draw a uniformly random buffer at every step."
    )
    return ClaimCheck(
        key="rates-corrected-theorem1",
        title="A corrected Theorem 1 with a noise floor",
        location=f"{THEOREM1}; Appendix B",
        claim=(
            "For α with q(α, K) < 1, ‖θ_{t+1} − θ*‖² <= q^{2t}‖θ_1 − θ*‖² + α²Kσ²/(1 − q²); here replaced by the "
            "certified bound E‖θ_t − θ*‖² <= c ρ^{2t}‖ξ_0 − ξ*‖² + floor, with (c, ρ, floor) from a verified IQC "
            "certificate."
        ),
        method=(
            "(1) Certify SGDC (sum, topC = 5, α = 0.05) with a fixed (K = 6) and a switching (K = 7) buffer and "
            "derive (c, ρ, floor). (2) Monte Carlo with Gaussian gradient noise on a random quadratic and on a "
            "non-quadratic log-cosh function, d = 10. (3) Without noise, PEPit's exact N-step worst case "
            "against c ρ^{2N}."
        ),
        verdict=verdict,
        command=_command("rates-corrected-theorem1"),
        numbers=numbers,
        details=details,
        figures=figures,
    )
