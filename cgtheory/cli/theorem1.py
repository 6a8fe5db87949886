"""Commands for Theorem 1: ``cgtheory q`` and ``cgtheory stepsizes``."""

from __future__ import annotations

import argparse

from cgtheory.cli import CommandResult

# Criteria of ``cgtheory stepsizes`` other than "paper" register a function
# (args) -> StepSizeRegion here, together with any options they need.
STEPSIZE_CRITERIA: dict = {}


def _describe_maximizer(weights, curvatures) -> str:
    if len(weights) == 0:
        weights_text = "none (K = 1)"
    elif len(set(weights)) == 1:
        weights_text = f"all {weights[0]:g}"
    else:
        weights_text = ", ".join(f"{w:.6g}" for w in weights)

    tail = curvatures[1:]
    if len(tail) == 0:
        tail_text = ""
    elif len(tail) == 1:
        tail_text = f"; η_1 = {tail[0]:g}"
    elif len(set(tail)) == 1:
        tail_text = f"; η_1..η_{len(tail)} all {tail[0]:g}"
    else:
        tail_text = "; η_k = " + ", ".join(f"{c:.6g}" for c in tail)
    return f"w_k: {weights_text}; η_0 = {curvatures[0]:g}{tail_text}"


def _run_q(args: argparse.Namespace) -> CommandResult:
    from cgtheory.contraction import contraction_factor

    result = contraction_factor(args.alpha, args.K, args.mu, args.L, args.form)
    verdict = "q < 1: Theorem 1 applies" if result.q < 1 else "q >= 1: Theorem 1 gives no convergence guarantee"
    text = (
        f"q(alpha={result.alpha:g}, K={result.K}) = {result.q:.12g}  [{result.form} form, mu={result.mu:g}, L={result.L:g}]\n"
        f"maximizer: {_describe_maximizer(result.weights.tolist(), result.curvatures.tolist())}\n"
        f"{verdict}"
    )
    payload = {
        "q": result.q,
        "maximizer": result.maximizer(),
        "alpha": result.alpha,
        "K": result.K,
        "mu": result.mu,
        "L": result.L,
        "form": result.form,
        "method": result.method,
    }
    return CommandResult(payload, text)


def _paper_region(args: argparse.Namespace):
    from cgtheory.stepsizes import theorem1_step_sizes

    if args.K is None:
        raise ValueError("missing --K: the paper criterion needs the staleness bound K >= 1")
    return theorem1_step_sizes(args.K, args.mu, args.L, args.form)


def _run_stepsizes(args: argparse.Namespace) -> CommandResult:
    if args.criterion == "paper":
        region = _paper_region(args)
    elif args.criterion in STEPSIZE_CRITERIA:
        region = STEPSIZE_CRITERIA[args.criterion](args)
    else:
        known = ", ".join(["paper", *STEPSIZE_CRITERIA])
        raise ValueError(f"invalid criterion={args.criterion!r}: criterion must be one of {known}")

    if region.intervals:
        listed = "\n".join(f"  ({low:.10g}, {high:.10g})" for low, high in region.intervals)
        summary = f"admissible step sizes (rate < {region.threshold:g}):\n{listed}"
    else:
        summary = f"no admissible step size in (0, {region.alpha_max:.6g}]: the rate is >= {region.threshold:g} everywhere"
    text = (
        f"{summary}\n"
        f"smallest rate {region.best_rate:.10g} at alpha = {region.best_alpha:.10g}\n"
        f"(criterion {args.criterion}; {region.grid_points} grid points, endpoints to {region.tolerance:g})"
    )
    payload = {
        "criterion": args.criterion,
        "intervals": [[low, high] for low, high in region.intervals],
        "best_alpha": region.best_alpha,
        "best_rate": region.best_rate,
        "alpha_max": region.alpha_max,
        "tolerance": region.tolerance,
    }
    return CommandResult(payload, text)


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add the ``q`` and ``stepsizes`` subcommands."""
    q_parser = subparsers.add_parser(
        "q",
        parents=[common],
        help="Theorem 1's contraction factor q(alpha, K) and its maximizer",
        description="Compute Theorem 1's q(alpha, K), the supremum of the largest singular value of "
        "Lambda over weights in [0, 1] and curvatures in [mu, L], exactly.",
    )
    q_parser.add_argument("--alpha", type=float, required=True, help="step size alpha > 0")
    q_parser.add_argument("--K", type=int, required=True, help="staleness bound K >= 1")
    q_parser.add_argument("--mu", type=float, required=True, help="strong convexity constant mu > 0")
    q_parser.add_argument("--L", type=float, required=True, help="smoothness constant L >= mu")
    q_parser.add_argument(
        "--form",
        default="companion",
        help="companion (the recursion's matrix, default) or printed (Lambda as Theorem 1 prints it)",
    )
    q_parser.set_defaults(handler=_run_q)

    steps_parser = subparsers.add_parser(
        "stepsizes",
        parents=[common],
        help="step sizes alpha with a rate below 1",
        description="List the intervals of step sizes alpha whose rate is below 1, and the alpha of smallest rate.",
    )
    steps_parser.add_argument(
        "--criterion", default="paper",
        help="paper (Theorem 1's q), spectral (exact rate on quadratics) or iqc (certified for every smooth strongly convex f)"
    )
    steps_parser.add_argument("--K", type=int, default=None, help="staleness bound K >= 1 (the memory spans the last K gradients)")
    steps_parser.add_argument("--mu", type=float, required=True, help="strong convexity constant mu > 0")
    steps_parser.add_argument("--L", type=float, required=True, help="smoothness constant L >= mu")
    steps_parser.add_argument("--form", default="companion", help="form of Lambda for the paper criterion")
    steps_parser.set_defaults(handler=_run_stepsizes)
