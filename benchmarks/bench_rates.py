"""Time the certified-rate analyses of cgtheory.rates; prints Markdown tables (not a test).

Run from the repository root:

    python benchmarks/bench_rates.py            # about two minutes on 2 cores
    python benchmarks/bench_rates.py --quick    # fewer K and α values

Three measurements, each a fresh call (compilation included):

1. The fixed-weight IQC rate of SGDC at K = 21 (topC = 20), one bisection to
   the stated tolerance, for several α and both aggregations.
2. The switching-buffer certificates at K = 8, topC = 3 (C(7, 3) = 35 modes):
   the shared IQC certificate, the piecewise Lyapunov bound over quadratics
   and the lower bound from products of modes.
3. Solve time of the fixed-weight IQC rate as a function of K (topC = K − 1).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings

import numpy as np

from cgtheory.rates.iqc import iqc_rate
from cgtheory.rates.spectral import worst_case_spectral_radius
from cgtheory.rates.switching import switching_lower_bound, switching_lyapunov_rate
from cgtheory.rates.systems import sgdc, sgdc_modes

MU, L = 1.0, 10.0


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import clarabel
    import cvxpy

    return (
        f"{model}, {os.cpu_count()} logical cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, cvxpy {cvxpy.__version__}, Clarabel {clarabel.__version__}"
    )


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def fixed_k21(tolerance: float, alphas) -> list[str]:
    rows = ["| aggr | α | rate | quadratic lower bound | solves | time (s) |", "| --- | --- | --- | --- | --- | --- |"]
    for aggr in ("sum", "mean"):
        for alpha in alphas[aggr]:
            result, elapsed = timed(lambda: iqc_rate(sgdc(alpha, 21, 20, aggr), MU, L, tolerance=tolerance))
            rate = f"{result.rate:.5f}" if result.certified else "not certified"
            rows.append(
                f"| {aggr} | {alpha:g} | {rate} | {result.quadratic_lower_bound:.5f} | {len(result.attempts)} | {elapsed:.2f} |"
            )
    return rows


def switching_k8(tolerance: float) -> list[str]:
    modes = sgdc_modes(0.02, 8, 3, "mean")
    rows = ["| analysis | rate | certified | solves | time (s) |", "| --- | --- | --- | --- | --- |"]
    result, elapsed = timed(lambda: iqc_rate(modes, MU, L, tolerance=tolerance))
    rows.append(f"| IQC, one certificate for all {len(modes)} modes | {result.rate:.5f} | {result.certified} | {len(result.attempts)} | {elapsed:.2f} |")
    result, elapsed = timed(lambda: switching_lyapunov_rate(modes, MU, L, pieces=2, refinements=2, tolerance=tolerance))
    rows.append(
        f"| Lyapunov over quadratics, {len(result.pieces)} curvature pieces | {result.rate:.5f} | {result.certified} | "
        f"{len(result.attempts)} | {elapsed:.2f} |"
    )
    lower, elapsed = timed(lambda: switching_lower_bound(modes, MU, L, max_length=3))
    rows.append(
        f"| lower bound over quadratics, best product of length <= 3 | {lower.rate:.5f} | (a lower bound) | "
        f"{lower.products_checked} products | {elapsed:.2f} |"
    )
    return rows


def scaling(tolerance: float, sizes) -> list[str]:
    rows = [
        "| K | state + filter dimension | α | solves | median solve (s) | total (s) | rate | quadratic lower bound |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for K in sizes:
        # At α = 0.15/K the quadratic lower bound is tight and two solves settle the rate; at
        # α = min(0.4/K, 0.06) it is not, and the bisection runs its full course.
        for alpha in (0.15 / K, min(0.4 / K, 0.06)):
            system = sgdc(alpha, K, K - 1, "sum")
            result, elapsed = timed(lambda: iqc_rate(system, MU, L, tolerance=tolerance))
            median = statistics.median(a.solve_time for a in result.attempts) if result.attempts else float("nan")
            rate = f"{result.rate:.5f}" if result.certified else "not certified"
            rows.append(
                f"| {K} | {K + 1} | {alpha:.4g} | {len(result.attempts)} | {median:.3f} | {elapsed:.2f} | {rate} | "
                f"{result.quadratic_lower_bound:.5f} |"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer K and α values")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="bisection tolerance on ρ (default 1e-4)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    best = {
        aggr: min(
            np.linspace(0.002, 0.03, 15),
            key=lambda a: worst_case_spectral_radius(sgdc(float(a), 21, 20, aggr), MU, L, tolerance=1e-8).rate,
        )
        for aggr in ("sum", "mean")
    }
    alphas = {
        aggr: [0.005, float(round(best[aggr], 4))]
        if args.quick
        else [0.002, 0.005, float(round(best[aggr], 4)), 0.1 if aggr == "sum" else 0.02]
        for aggr in ("sum", "mean")
    }
    sizes = (2, 6, 11, 21) if args.quick else (2, 4, 6, 8, 11, 16, 21, 26, 31)

    print(f"Machine: {machine()}\n")
    print(f"## Fixed-weight IQC rate, K = 21, topC = 20 (tolerance {args.tolerance:g}, µ = 1, L = 10)\n")
    print("\n".join(fixed_k21(args.tolerance, alphas)))
    print(f"\n## Switching buffer, K = 8, topC = 3, mean, α = 0.02 (tolerance {args.tolerance:g})\n")
    print("\n".join(switching_k8(args.tolerance)))
    print(f"\n## Fixed-weight IQC rate against K (sum, topC = K − 1, tolerance {args.tolerance:g})\n")
    print("\n".join(scaling(args.tolerance, sizes)))


if __name__ == "__main__":
    main()
