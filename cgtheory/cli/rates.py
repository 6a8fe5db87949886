"""Commands for certified rates: ``cgtheory rate`` and the ``spectral``/``iqc`` criteria of ``cgtheory stepsizes``."""

from __future__ import annotations

import argparse
import math

from cgtheory.cli import CommandResult

_ALGORITHM_HELP = "gd, heavy-ball, nesterov or sgdc"


def _build(args: argparse.Namespace):
    """Return α ↦ the modes of the method the arguments select (validated once at α = 1)."""
    from cgtheory.rates.systems import build_algorithm

    lags = None
    if getattr(args, "lags", None):
        try:
            lags = [int(item) for item in args.lags.split(",")]
        except ValueError:
            raise ValueError(f"invalid --lags {args.lags!r}: give comma-separated integers such as 1,2,3") from None

    def build(alpha: float):
        return build_algorithm(
            args.algorithm,
            alpha,
            beta=args.beta,
            K=args.K,
            topC=args.topC,
            aggr=args.aggr,
            lags=lags,
            switching=args.switching,
            include_filling=args.include_filling,
        )

    return build


def _format(value: float) -> str:
    if math.isinf(value):
        return "inf"
    if math.isnan(value):
        return "nan"
    return f"{value:.10g}"


def _run_rate(args: argparse.Namespace) -> CommandResult:
    from cgtheory._validation import require_choice
    from cgtheory.rates.analysis import METHODS, compute_rate

    method = require_choice("method", args.method, METHODS)
    systems = _build(args)(args.alpha)
    report = compute_rate(method, systems, args.mu, args.L, steps=args.steps, tolerance=args.tolerance, solver=args.solver)

    label = systems[0].name if len(systems) == 1 else f"{len(systems)} switching modes of sgdc({args.aggr}, K={args.K}, topC={args.topC})"
    lines = [
        f"rate = {_format(report.rate)}  [{report.method}; {report.function_class}, mu={args.mu:g}, L={args.L:g}]",
        f"algorithm: {label}, alpha={args.alpha:g}",
    ]
    if report.method == "pep":
        lines.append(
            f"worst case of |x_N - x*|^2 / |x_0 - x*|^2 over N={report.figures['steps']} steps: "
            f"{_format(report.figures['worst_case_ratio'])}; rate = its 1/(2N)-th power, a finite-horizon number, "
            f"not a certified rate (solver {report.figures['solver']}, status {report.figures['status']})"
        )
    else:
        verdict = "yes: a proven upper bound below 1" if report.certified else "no: no verified certificate with rate < 1"
        lines.append(f"certified: {verdict}")
        if not math.isnan(report.lower):
            if report.method == "iqc":
                # The low end is the largest ρ the bisection could not certify (or the quadratic worst
                # case if larger), so it bounds what this analysis can prove, not the true rate.
                lines.append(f"bisection bracket of the certified rate: ({_format(report.lower)}, {_format(report.rate)}]")
            else:
                lines.append(f"lower end: {_format(report.lower)}")
    figures = report.figures
    if "min_eig_P" in figures:
        lines.append(
            f"verification: min eig P = {figures['min_eig_P']:.3e}, max eig LMI = {figures['max_eig_lmi']:.3e} "
            f"(required <= -{figures['lmi_margin_required']:.1e})"
        )
    if "solver" in figures and report.method != "pep":
        lines.append(
            f"solver {figures['solver']}, status {figures['status']}, {figures['solves']} solves in {figures['solve_time_s']:.2f} s"
        )

    payload = {
        "rate": report.rate,
        "certified": report.certified,
        "method": report.method,
        "lower": report.lower,
        "function_class": report.function_class,
        "algorithm": args.algorithm,
        "system": label,
        "alpha": args.alpha,
        "mu": args.mu,
        "L": args.L,
        **{key: value for key, value in figures.items() if key not in ("rate", "certified", "lower")},
    }
    return CommandResult(payload, "\n".join(lines))


def _add_method_options(parser: argparse.ArgumentParser, *, with_K: bool) -> None:
    parser.add_argument("--algorithm", default="sgdc", help=f"the method: {_ALGORITHM_HELP} (default sgdc)")
    parser.add_argument("--beta", type=float, default=None, help="momentum beta in [0, 1) (heavy-ball, nesterov)")
    if with_K:
        parser.add_argument("--K", type=int, default=None, help="staleness bound K >= 2 (sgdc): lags 1..K-1 may be stored")
    parser.add_argument("--topC", type=int, default=None, help="buffer size topC, 1 <= topC < K (sgdc)")
    parser.add_argument("--aggr", default="sum", help="aggregation of sgdc: sum (default) or mean")
    parser.add_argument("--lags", default=None, help="fixed buffer of sgdc as comma-separated lags (default 1..topC)")
    parser.add_argument(
        "--switching", action="store_true", help="sgdc's buffer may hold any topC of the lags 1..K-1, changing every step"
    )
    parser.add_argument(
        "--include-filling",
        action="store_true",
        help="with --switching, also certify the steps t < topC while the buffer fills",
    )
    parser.add_argument("--solver", default=None, help="SDP solver: CLARABEL (default, SCS on failure), SCS or MOSEK")


def _spectral_region(args: argparse.Namespace):
    return _certified_region("spectral", args)


def _iqc_region(args: argparse.Namespace):
    return _certified_region("iqc", args)


def _certified_region(criterion: str, args: argparse.Namespace):
    from tqdm.auto import tqdm

    from cgtheory.rates.analysis import certified_step_sizes

    build = _build(args)
    build(1.0)  # validates the method's parameters before any search

    def progress(grid):
        return tqdm(grid, desc=f"stepsizes ({criterion})", unit="alpha", leave=False, disable=None)

    return certified_step_sizes(
        criterion, build, args.mu, args.L, grid_points=args.grid_points, solver=args.solver, progress=progress
    )


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add ``rate``, and the ``spectral`` and ``iqc`` criteria to ``stepsizes`` (registered before this)."""
    from cgtheory.cli.theorem1 import STEPSIZE_CRITERIA

    parser = subparsers.add_parser(
        "rate",
        parents=[common],
        help="a certified convergence rate: spectral (quadratics), iqc (smooth strongly convex) or pep",
        description="Compute the convergence rate of a first-order method on mu-strongly convex, L-smooth "
        "functions and say whether it is certified. spectral: exact worst case over quadratics (a Lyapunov "
        "bracket with --switching); iqc: a verified IQC certificate for every such function; pep: the exact "
        "worst case of N steps (PEPit).",
    )
    parser.add_argument("--method", required=True, help="spectral, iqc or pep")
    parser.add_argument("--alpha", type=float, required=True, help="step size alpha > 0")
    _add_method_options(parser, with_K=True)
    parser.add_argument("--mu", type=float, required=True, help="strong convexity constant mu > 0")
    parser.add_argument("--L", type=float, required=True, help="smoothness constant L >= mu")
    parser.add_argument("--steps", type=int, default=10, help="number of steps N for --method pep (default 10)")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="bisection tolerance on the rate (default 1e-5)")
    parser.set_defaults(handler=_run_rate)

    steps_parser = subparsers.choices.get("stepsizes")
    if steps_parser is None:
        raise RuntimeError("cgtheory.cli.rates must be registered after cgtheory.cli.theorem1, which adds stepsizes")
    _add_method_options(steps_parser, with_K=False)
    steps_parser.add_argument(
        "--grid-points",
        type=int,
        default=None,
        help="alpha values before refinement (spectral/iqc; default 400 spectral, 40 iqc, 12 with --switching)",
    )
    STEPSIZE_CRITERIA["spectral"] = _spectral_region
    STEPSIZE_CRITERIA["iqc"] = _iqc_region
