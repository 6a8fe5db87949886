"""Seed-steps per second of batched SGDC against a loop of one optimizer per seed.

Ridge regression on scikit-learn's diabetes data, SGDC with topC = 5, decay 0.7,
sum aggregation, batch size 1, float64. The loop runs one
``cgtheory.optim.SGDC`` per seed on its own parameter tensor, with the same
torch gradient formula as the batched oracle; the batched run is
``cgtheory.simulate.simulate``. Both are timed in this process, alternating,
and the script prints the medians and their ratio.

Usage: python benchmarks/bench_simulate.py [--seeds S] [--steps T] [--rounds R] [--threads N] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from cgtheory.optim import SGDC
from cgtheory.problems import BatchedOracle, make_problem
from cgtheory.simulate import RunSettings, simulate


def loop_throughput(problem, seeds: int, steps: int) -> float:
    """Return seed-steps per second of ``seeds`` separate SGDC optimizers stepped one after another."""
    X = torch.as_tensor(problem.X, dtype=torch.float64)
    y = torch.as_tensor(problem.targets, dtype=torch.float64)
    lam = problem.regularization
    generator = torch.Generator().manual_seed(0)
    thetas = [torch.zeros(problem.dim, dtype=torch.float64, requires_grad=True) for _ in range(seeds)]
    optimizers = [SGDC([theta], lr=0.01, topC=5, decay=0.7) for theta in thetas]
    start = time.perf_counter()
    for _ in range(steps):
        indices = torch.randint(problem.n, (seeds,), generator=generator)
        for seed in range(seeds):
            theta = thetas[seed]
            row = X[indices[seed]]
            # Gradient of ½(xᵀθ - y)² + (λ/2)‖θ‖² for one example.
            theta.grad = row * (row @ theta.detach() - y[indices[seed]]) + lam * theta.detach()
            optimizers[seed].step()
    return seeds * steps / (time.perf_counter() - start)


def batched_throughput(problem, seeds: int, steps: int, device: str) -> float:
    """Return seed-steps per second of :func:`cgtheory.simulate.simulate` with ``seeds`` seeds."""
    settings = RunSettings(optimizer="sgdc", lr=0.01, steps=steps, seeds=seeds, batch_size=1, topC=5, decay=0.7,
                           device=device, records=2)
    return simulate(problem, settings).throughput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10_000, help="seeds of the batched run (default 10000)")
    parser.add_argument("--loop-seeds", type=int, default=20, help="seeds of the loop (default 20)")
    parser.add_argument("--steps", type=int, default=200, help="steps per measurement (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--device", default="cpu", help="device of the batched run (default cpu)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1; 0 keeps torch's default)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    problem = make_problem("ridge", "diabetes")
    BatchedOracle(problem)  # computes the record once, outside the timings
    loop, batched = [], []
    for _ in range(args.rounds):
        loop.append(loop_throughput(problem, args.loop_seeds, args.steps))
        batched.append(batched_throughput(problem, args.seeds, args.steps, args.device))

    print(f"machine: {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
          f"load average {os.getloadavg()[0]:.1f}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}")
    print(f"loop of {args.loop_seeds} SGDC optimizers: {statistics.median(loop):,.0f} seed-steps/s (median of {args.rounds})")
    print(f"batched, {args.seeds} seeds: {statistics.median(batched):,.0f} seed-steps/s")
    print(f"ratio: {statistics.median(batched) / statistics.median(loop):.1f}x")


if __name__ == "__main__":
    main()
