"""Checks of Theorem 1 of "Memory Augmented Optimizers for Deep Learning" (Section 3, Appendix B)."""

from __future__ import annotations

import numpy as np

from cgtheory.checks import CheckContext, register
from cgtheory.companion import lambda_matrix
from cgtheory.contraction import contraction_factor, contraction_factor_search
from cgtheory.report import ClaimCheck, Verdict
from cgtheory.stepsizes import theorem1_step_sizes
from cgtheory.symbolic import k1_rate_comparison, prove_q_at_least_one, small_step_limit

# Curvature ranges checked: a mild and an ill-conditioned problem.
CURVATURE_CASES = ((1.0, 10.0), (0.01, 1.0))
# K = topC + 1 for the topC values the paper tunes over (5, 10, 20), plus small and large memories.
MEMORY_SIZES = (2, 3, 6, 11, 21, 101)


def _gd_rate(alpha: float, mu: float, L: float) -> float:
    return max(abs(1.0 - alpha * mu), abs(1.0 - alpha * L))


def _printed_k1_rate(alpha: float, mu: float, L: float) -> float:
    # max over η ∈ [µ, L] of |1 - αηL|: the function is convex in η, so an endpoint attains it.
    return max(abs(1.0 - alpha * mu * L), abs(1.0 - alpha * L * L))


@register("theorem1-k1", "Theorem 1 with K = 1 reduces to SGD's rate")
def check_k1(context: CheckContext) -> ClaimCheck:
    rng = np.random.default_rng(context.seed)
    cases = 40 if context.quick else 200
    worst_exact, worst_search, worst_printed = 0.0, 0.0, 0.0
    for _ in range(cases):
        mu = float(10 ** rng.uniform(-2, 0))
        L = float(mu * 10 ** rng.uniform(0, 2))
        alpha = float(rng.uniform(0.01, 2.5) / L)
        gd = _gd_rate(alpha, mu, L)
        worst_exact = max(worst_exact, abs(contraction_factor(alpha, 1, mu, L).q - gd))
        worst_printed = max(worst_printed, abs(_printed_k1_rate(alpha, mu, L) - gd))
        if _ < 10:
            search = contraction_factor_search(alpha, 1, mu, L, seed=context.seed, maxiter=50).q
            worst_search = max(worst_search, abs(search - gd))

    region = theorem1_step_sizes(1, 1.0, 10.0)
    interval_ok = len(region.intervals) == 1 and abs(region.intervals[0][1] - 2.0 / 10.0) < 1e-8
    symbolic = k1_rate_comparison()

    matches_gd = worst_exact < 1e-12 and worst_search < 1e-6 and interval_ok
    printed_differs = worst_printed > 1e-6
    if not matches_gd:
        verdict = Verdict.FAILS
    elif printed_differs:
        verdict = Verdict.HOLDS_AFTER_CORRECTION
    else:
        verdict = Verdict.HOLDS

    return ClaimCheck(
        key="theorem1-k1",
        title="Theorem 1 with K = 1 reduces to SGD's rate",
        location="Section 3, the paragraph after Theorem 1",
        claim="For K = 1 SGDC is SGD, q(α, 1) is the known rate of SGD on smooth strongly convex "
        "functions, printed as max over η ∈ [µ, L] of |1 - αηL|, and the noise term is α²σ²/(1 - q²).",
        method=f"q(α, 1) from the closed form and from a differential-evolution search over η_0, against "
        f"the gradient-descent rate max(|1 - αµ|, |1 - αL|) on {cases} random (α, µ, L); the printed "
        "formula evaluated on the same cases; admissible step sizes for µ = 1, L = 10 by root finding; "
        "sympy for the formula at α = 1/L.",
        verdict=verdict,
        command="cgtheory verify --only theorem1-k1",
        numbers=[
            ("max |q(α,1) - max(|1-αµ|, |1-αL|)|, closed form", f"{worst_exact:.2e}"),
            ("max |q(α,1) - GD rate|, generic search (10 cases)", f"{worst_search:.2e}"),
            ("max |printed formula - GD rate|", f"{worst_printed:.3g}"),
            ("admissible α with q(α,1) < 1 (µ = 1, L = 10)", ", ".join(f"({a:.6g}, {b:.6g})" for a, b in region.intervals) or "none"),
            ("correct rate at α = 1/L (sympy)", f"`{symbolic['correct_at_alpha_1_over_L']}`"),
            ("printed formula at α = 1/L (sympy)", f"`{symbolic['printed_at_alpha_1_over_L']}`"),
        ],
        details="With K = 1, Λ = [1 - αη_0] and q(α, 1) = max(|1 - αµ|, |1 - αL|), the tight rate of "
        "gradient descent, below 1 exactly for 0 < α < 2/L. The formula printed in the paper, "
        "max |1 - αηL|, has an extra factor L: at α = 1/L it gives |1 - µ| instead of 1 - µ/L, which "
        "is not even invariant to rescaling f. With |1 - αη| in its place the statement holds, and "
        "the noise term α²Kσ²/(1 - q²) at K = 1 is the standard α²σ²/(1 - q²).",
    )


def _plot_q(context: CheckContext, mu: float, L: float) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path, link = context.figure_path("theorem1_q_vs_alpha.png")
    alphas = np.geomspace(1e-4 / L, 2.0 / mu, 400 if context.quick else 1500)
    fig, ax = plt.subplots(figsize=(7.5, 4.5), constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for color, K in zip(colors, (1, 2, 6, 11, 21)):
        for form, style in (("companion", "-"), ("printed", "--")):
            if K == 1 and form == "printed":
                continue
            q = [contraction_factor(a, K, mu, L, form).q for a in alphas]
            label = f"K = {K}" + ("" if K == 1 else f", {form}")
            ax.plot(alphas, q, style, color=color, label=label, linewidth=1.4)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step size α")
    ax.set_ylabel("q(α, K)")
    ax.set_title(f"Theorem 1's q(α, K) for µ = {mu:g}, L = {L:g}; the theorem needs q < 1 (black line)")
    ax.legend(ncol=2, fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return link


def _plot_region(context: CheckContext, mu: float, L: float) -> str:
    """Draw the α with a rate below 1 over (α, topC): Theorem 1's q against the exact rate on quadratics."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cgtheory.rates.spectral import worst_case_spectral_radius
    from cgtheory.rates.systems import sgdc

    path, link = context.figure_path("theorem1_stepsize_region.png")
    top_c = np.array([1, 2, 3, 5, 8, 10, 15, 20])
    alphas = np.geomspace(1e-2 / L, 4.0 / L, 30 if context.quick else 80)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True)
    for ax, aggr in zip(axes, ("sum", "mean")):
        rates = np.array([[worst_case_spectral_radius(sgdc(a, c + 1, c, aggr), mu, L).rate for a in alphas] for c in top_c])
        paper = np.array([[contraction_factor(a, c + 1, mu, L).q for a in alphas] for c in top_c])
        mesh = ax.pcolormesh(alphas, np.arange(top_c.size), rates, shading="nearest", cmap="RdBu_r", vmin=0.8, vmax=1.2)
        ax.contour(alphas, np.arange(top_c.size), rates, levels=[1.0], colors="black", linewidths=1.5)
        ax.set_xscale("log")
        ax.set_yticks(np.arange(top_c.size), [str(c) for c in top_c])
        ax.set_xlabel("step size α")
        ax.set_ylabel("topC (fixed buffer of the last topC gradients, K = topC + 1)")
        admitted = int((paper < 1).sum())
        ax.set_title(f"{aggr}: spectral rate on quadratics (blue < 1 < red; black line: rate = 1);\n"
                     f"Theorem 1's q < 1 at {admitted} of {paper.size} grid points", fontsize=10)
        fig.colorbar(mesh, ax=ax, label="worst-case spectral radius over η ∈ [µ, L]")
    fig.suptitle(f"Step sizes with a rate below 1, SGDC, µ = {mu:g}, L = {L:g}", fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return link


@register("theorem1-condition", "Theorem 1's condition q(α, K) < 1 for K >= 2")
def check_condition(context: CheckContext) -> ClaimCheck:
    numbers = []
    all_empty = True
    search_gap = 0.0
    search_exceeds = False
    for mu, L in CURVATURE_CASES:
        for K in MEMORY_SIZES:
            row = []
            for form in ("companion", "printed"):
                region = theorem1_step_sizes(K, mu, L, form, grid_points=1001 if context.quick else 4001)
                all_empty = all_empty and not region.intervals
                row.append(f"{region.best_rate:.6f} at α = {region.best_alpha:.3g}")
                if K <= 6:
                    exact = contraction_factor(region.best_alpha, K, mu, L, form).q
                    search = contraction_factor_search(
                        region.best_alpha, K, mu, L, form, seed=context.seed, maxiter=60 if context.quick else 300
                    ).q
                    search_exceeds = search_exceeds or search > exact * (1 + 1e-12)
                    search_gap = max(search_gap, (exact - search) / exact)
            numbers.append((f"min over α of q, K = {K}, µ = {mu:g}, L = {L:g} (companion; printed)", "; ".join(row)))

    proof = prove_q_at_least_one()
    k1 = theorem1_step_sizes(1, 1.0, 10.0)
    numbers += [
        ("admissible α for K = 1 (µ = 1, L = 10)", ", ".join(f"({a:.6g}, {b:.6g})" for a, b in k1.intervals)),
        ("admissible α for every K >= 2 and case above", "none" if all_empty else "some found"),
        ("largest relative gap exact - generic search (K <= 6)", f"{search_gap:.2e}"),
        ("generic search above the exact value", "yes" if search_exceeds else "never"),
        ("lim α→0 q(α, K)², companion; printed (sympy)", f"{small_step_limit('companion')}; {small_step_limit('printed')}"),
        ("sympy proof of q(α, K) >= 1 for K >= 2", "proven" if proof.proven else "not proven"),
    ]
    figures = [_plot_q(context, 1.0, 10.0), _plot_region(context, 1.0, 10.0)]

    holds_k1 = bool(k1.intervals)
    exact_trusted = not search_exceeds and search_gap < 1e-4
    if not exact_trusted:
        verdict = Verdict.NOT_DECIDABLE
    elif all_empty and proof.proven:
        verdict = Verdict.FAILS
    elif holds_k1 and not all_empty:
        verdict = Verdict.HOLDS
    else:
        verdict = Verdict.NOT_DECIDABLE

    return ClaimCheck(
        key="theorem1-condition",
        title="Theorem 1's condition q(α, K) < 1 for K >= 2",
        location="Section 3, Theorem 1 (\"if the step-size α > 0 is chosen sufficiently small, such that q(α,K) < 1\")",
        claim="A small enough step size α makes q(α, K) < 1, so SGDC with staleness bound K converges linearly.",
        method="q(α, K) in closed form (exact: σ_max(Λ) grows with every |λ_k|, so the supremum sits at a "
        "corner of the box), checked against a differential-evolution search that knows nothing of the "
        "structure; the set {α : q < 1} on (0, 2/µ] by grid and root finding for K in "
        f"{', '.join(map(str, MEMORY_SIZES))} and both forms of Λ; a sympy proof that σ_max(Λ) >= 1 "
        "for every K >= 2, weight and curvature.",
        verdict=verdict,
        command="cgtheory verify --only theorem1-condition",
        numbers=numbers,
        details="For K >= 2 the last K-1 rows of Λ hold a shifted identity, so ‖Λx‖ >= 1 for a unit vector "
        "x and σ_max(Λ) >= 1 whatever the weights, the curvatures and α. Hence q(α, K) >= 1 for every "
        "α > 0: the condition of Theorem 1 can be met only for K = 1, where SGDC is SGD. With memory the "
        "theorem guarantees nothing. A singular value bound cannot show convergence of a multi-step "
        "method; the spectral radius, or a Lyapunov function certified by an IQC, can (see the "
        "certified-rate checks).\n\nThe proof states that q(α, K) 'has an analytic definition as the "
        "roots of a polynomial'; the closed form above is that definition: q² = (a + c + 1 + √((a+c+1)² - 4c))/2.",
        figures=figures,
    )


@register("theorem1-lambda-form", "Λ as printed is the system matrix of SGDC")
def check_lambda_form(context: CheckContext) -> ClaimCheck:
    rng = np.random.default_rng(context.seed + 1)
    cases = 50 if context.quick else 200
    worst = {"companion": 0.0, "printed": 0.0}
    for _ in range(cases):
        K = int(rng.integers(2, 8))
        alpha = float(rng.uniform(0.01, 0.2))
        weights = rng.uniform(0, 1, K - 1)
        curvatures = rng.uniform(1, 10, K)
        history = list(rng.normal(size=K))  # r_t, r_{t-1}, ..., r_{t-K+1}
        coefficients = lambda_matrix(alpha, weights, curvatures)[0]
        state = np.array(history)
        for _step in range(5):
            following = float(coefficients @ np.array(history[:K]))
            history.insert(0, following)
            for form in worst:
                matrix = lambda_matrix(alpha, weights, curvatures, form)
                predicted = np.linalg.matrix_power(matrix, _step + 1) @ state
                worst[form] = max(worst[form], float(np.max(np.abs(predicted - np.array(history[:K])))))

    companion_ok = worst["companion"] < 1e-9
    printed_ok = worst["printed"] < 1e-9
    if companion_ok and not printed_ok:
        verdict = Verdict.HOLDS_AFTER_CORRECTION
    elif printed_ok:
        verdict = Verdict.HOLDS
    else:
        verdict = Verdict.FAILS

    return ClaimCheck(
        key="theorem1-lambda-form",
        title="Λ as printed is the system matrix of SGDC",
        location="Section 3, Theorem 1, and Appendix B (the matrix A_t and Eq. 11)",
        claim="The matrix Λ, with first row (λ_0, ..., λ_{K-1}) and rows 2..K holding a 1 on the "
        "diagonal, describes the linear recursion r_{t+1} = Σ_k λ_k r_{t-k} of SGDC with scalar curvatures.",
        method=f"{cases} random recursions (K from 2 to 7) run for 5 steps directly, and by powers of Λ "
        "applied to the stacked state, for the printed form and for the companion form (identity on the "
        "subdiagonal).",
        verdict=verdict,
        command="cgtheory verify --only theorem1-lambda-form",
        numbers=[
            ("max error, companion form", f"{worst['companion']:.2e}"),
            ("max error, printed form", f"{worst['printed']:.3g}"),
        ],
        details="The stacked state (r_{t+1}, r_t, ..., r_{t-K+2}) shifts down by one each step, which puts "
        "the identity on the subdiagonal. The printed matrix keeps rows 2..K fixed instead, so its "
        "eigenvalues are λ_0 and 1 (K-1 times) whatever the weights. cgtheory computes q for both; "
        "both are >= 1 for K >= 2.",
    )
